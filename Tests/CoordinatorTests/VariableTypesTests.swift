import Foundation
import Testing
import WireFormat
@testable import ProvisionerDaemon

/// Variable types read from a template's source, since `terraform show -json` leaves them out.
@Suite struct VariableTypesTests {
    static func types(_ text: String, file: String = "main.tf") -> [String: String] {
        VariableTypes.declared(in: [(name: file, text: text)])
    }

    @Test func primitiveTypesAndUntypedVariables() {
        let text = #"""
        variable "name" {
          type    = string
          default = "ws"
        }

        variable "instances" {
          type = number
        }
        variable "enabled" {
          type        = bool
          description = "on or off"
          default     = true
        }
        variable "untyped" {
          default = 5
        }
        variable "bare" {}
        variable "list" { type = list(string) }
        variable ident_label {
          type = map(number)
        }
        """#
        #expect(Self.types(text) == [
            "name": "string", "instances": "number", "enabled": "bool", "list": "list(string)", "ident_label": "map(number)",
        ])
    }

    @Test func multiLineObjectType() {
        let text = #"""
        variable "obj" {
          type = object({
            a = string          # the name
            b = optional(number, 1)
            // more
            c = list(object({ d = bool }))   /* inner */
            e = optional(string, "two  spaces")
          })
          default = null
        }
        variable "after" {
          type = tuple([
            string,
            number,
          ])
        }
        """#
        #expect(Self.types(text) == [
            "obj": #"object({ a = string b = optional(number, 1) c = list(object({ d = bool })) e = optional(string, "two  spaces") })"#,
            "after": "tuple([ string, number, ])",
        ])
    }

    @Test func onlyTheBodysOwnTypeCounts() {
        let text = #"""
        variable "checked" {
          validation {
            condition     = var.checked != "x"
            error_message = "not x"
            type = number
          }
          default = {
            type = "bool"
          }
          type = string
        }
        variable "validated_untyped" {
          validation {
            type = number
          }
          default = { type = "bool" }
        }
        variable "twice" {
          type = number
          type = string
        }
        """#
        #expect(Self.types(text) == ["checked": "string", "twice": "number"])
    }

    @Test func commentsHideDeclarations() {
        let text = #"""
        # variable "hash" { type = number }
        // variable "slashes" { type = number }
        /* variable "block" {
          type = number
        } */
        variable "real" { # variable "inline" {
          type = bool // not = number
          /* type = number */
        }
        """#
        #expect(Self.types(text) == ["real": "bool"])
    }

    @Test func heredocsHideDeclarations() {
        let text = #"""
        locals {
          doc = <<EOT
        variable "x" {
          type = number
        }
        EOT
        }
        variable "y" {
          description = <<-EOT
            type = bool
            variable "z" {
            EOT
          type = string
        }
        variable "w" {
          description = <<EOT
        ${var.y} and } and %{ if true }"${"}"}"%{ endif }
          EOT
          type = number
        }
        output "o" {
          value = <<EOT
        EOTX
        variable "v" { type = bool }
        EOT
        }
        """#
        #expect(Self.types(text) == ["y": "string", "w": "number"])
    }

    @Test func stringsHideDeclarationsAndBraces() {
        let text = #"""
        locals {
          a = "variable \"q\" { type = number }"
          b = "}"
          c = "${jsonencode({ x = "}" })} %{ for k in ["{"] }${k}%{ endfor } $${not} %%{not}"
        }
        variable "s" {
          default = "}{ \"quoted\" ${"}"} \\"
          type    = string
        }
        output "o" {
          value = "variable \"p\" {"
        }
        """#
        #expect(Self.types(text) == ["s": "string"])
    }

    @Test func variableAsAnIdentifierElsewhere() {
        let text = #"""
        locals {
          variable = 1
          nested = {
            variable "n" {
              type = number
            }
          }
        }
        resource "terraform_data" "r" {
          input = [
            variable,
          ]
        }
        module "m" {
          source   = "./m"
          variable = "x"
        }
        variable = 3
        "variable" "quoted_keyword" { type = bool }
        variable "two" "labels" { type = bool }
        variable "${x}" { type = bool }
        variable "not a name" { type = bool }
        x = 1 variable "mid_line" { type = bool }
        variable "top" {
          type = bool
        }
        """#
        #expect(Self.types(text) == ["top": "bool"])
    }

    @Test func legacyQuotedType() {
        let text = #"""
        variable "old" {
          type = "string"
        }
        variable "oldlist" { type = "list" }
        """#
        #expect(Self.types(text) == ["old": "string", "oldlist": "list"])
    }

    @Test func windowsLineEndings() {
        let text = #"""
        variable "a" {
          type = string # comment
        }
        variable "b" {
          description = <<-EOT
            variable "c" {
            EOT
          type = object({
            x = number
          })
        }
        """#
        let crlf = text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n") + "\r\n"
        #expect(crlf.utf8.contains(0x0D))
        #expect(Self.types(crlf) == ["a": "string", "b": "object({ x = number })"])
    }

    @Test func unterminatedInputKeepsWhatWasComplete() {
        let complete = "variable \"a\" {\n  type = string\n}\n"
        let endings = [
            "variable \"b\" {\n  default = \"oops\n  type = number\n}\n", // a quoted string runs past its line
            "variable \"b\" {\n  type = number\n  /* never closed\n}\n",
            "variable \"b\" {\n  description = <<EOT\nno end marker\n}\n",
            "variable \"b\" {\n  default = \"${ {\"}\" \n",
            "variable \"b\" {\n  type = number\n", // the block never closes
            "variable \"b\" {\n  type = object({\n",
            "variable \"b\" {\n  type = number\n)\n}\n", // a bracket that matches nothing
            "variable \"b\"",
            "variable",
            "\"",
            "<<EOT\n",
        ]
        for ending in endings {
            #expect(Self.types(complete + ending) == ["a": "string"], "\(ending)")
        }
        #expect(Self.types("}\nvariable \"a\" {\n  type = string\n}\n") == [:])
        #expect(Self.types("") == [:])
    }

    @Test func hostileInputEnds() {
        // Deep nesting of every kind, repeated openers, lone quotes: each scan ends, quickly.
        let inputs = [
            String(repeating: "{", count: 20_000),
            String(repeating: "[(", count: 10_000),
            String(repeating: "\"${", count: 10_000),
            String(repeating: "x = <<EOT\n", count: 5_000),
            String(repeating: "\"${<<A\n", count: 5_000),
            String(repeating: "/*", count: 10_000),
            String(repeating: "variable \"a\" {\n", count: 5_000),
            String(repeating: "}", count: 10_000),
            String(repeating: "\\", count: 10_001),
            String(repeating: "\"\\", count: 10_000),
            "variable \"a\" {\n  type = " + String(repeating: "list(", count: 10_000),
        ]
        for input in inputs {
            #expect(Self.types(input) == [:])
            #expect(Self.types(input, file: "main.tf.json") == [:])
        }
        // Closed properly, deep nesting is fine, and a long type is left out.
        let deep = String(repeating: "list(", count: 300) + "string" + String(repeating: ")", count: 300)
        #expect(Self.types("variable \"deep\" {\n  type = \(deep)\n}\n") == [:])
        let fits = String(repeating: "list(", count: 100) + "string" + String(repeating: ")", count: 100)
        #expect(Self.types("variable \"fits\" {\n  type = \(fits)\n}\n") == ["fits": fits])
    }

    @Test func typeLengthLimit() {
        // `object({ a0 = string … })` grown to just under and just over 1024 bytes.
        func objectType(_ count: Int) -> String {
            "object({ " + (0..<count).map { "a\($0) = string" }.joined(separator: " ") + " })"
        }
        var atMost = 1
        while objectType(atMost + 1).utf8.count <= VariableTypes.maxTypeBytes { atMost += 1 }
        let longest = objectType(atMost), tooLong = objectType(atMost + 1)
        #expect(longest.utf8.count <= 1024 && tooLong.utf8.count > 1024)
        let text = "variable \"ok\" {\n  type = \(longest)\n}\nvariable \"long\" {\n  type = \(tooLong)\n}\n"
        #expect(Self.types(text) == ["ok": longest])
        // Written over many lines it is measured once normalized.
        let spread = tooLong.replacingOccurrences(of: " ", with: "\n      ")
        #expect(Self.types("variable \"long\" {\n  type = \(spread)\n}\n") == [:])
        let spreadOK = longest.replacingOccurrences(of: " ", with: "\n      ")
        #expect(Self.types("variable \"ok\" {\n  type = \(spreadOK)\n}\n") == ["ok": longest])
    }

    @Test func jsonSyntax() {
        let json = #"""
        {
          "//": "variable \"comment\" { type = bool }",
          "variable": {
            "region": {"type": "string", "default": "x"},
            "tags": {"type": "map(string)", "default": {"type": "bool"}},
            "obj": {"type": "object({\n  a = string # name\n  b = optional(number, 1)\n})"},
            "untyped": {"default": [1, 2, {"type": "number"}]},
            "esc\u0061ped": {"type": "\u006eumber"},
            "checked": {"validation": [{"condition": "${true}", "type": "number"}], "type": "bool"},
            "legacy": {"type": "${string}"}
          },
          "locals": {"variable": {"nope": {"type": "bool"}}},
          "output": {"o": {"value": "${var.region}"}}
        }
        """#
        #expect(Self.types(json, file: "main.tf.json") == [
            "region": "string", "tags": "map(string)", "obj": "object({ a = string b = optional(number, 1) })",
            "escaped": "number", "checked": "bool", "legacy": "${string}",
        ])
        // HCL's JSON syntax allows arrays of block objects and of bodies.
        let arrays = #"{"variable": [{"a": {"type": "bool"}}, {"b": [{"type": "number"}], "c": []}]}"#
        #expect(Self.types(arrays, file: "vars.tf.json") == ["a": "bool", "b": "number"])
        // The same text in a .tf file is not HCL native syntax that declares anything.
        #expect(Self.types(arrays, file: "vars.tf") == [:])
        // Invalid JSON keeps what was complete.
        #expect(Self.types(#"{"variable": {"a": {"type": "bool"}, "b": {"type": "number""#, file: "x.tf.json") == ["a": "bool"])
        #expect(Self.types(#"{"variable": {"a": {"type": "bool"}, "b": {"type" "number"}}}"#, file: "x.tf.json") == ["a": "bool"])
        #expect(Self.types(#"["variable"]"#, file: "x.tf.json") == [:])
        #expect(Self.types("", file: "x.tf.json") == [:])
    }

    @Test func filesOverridesAndDuplicates() {
        let main = "variable \"a\" {\n  type = string\n}\nvariable \"b\" {\n  type = number\n}\nvariable \"c\" {}\n"
        let more = "variable \"a\" {\n  type = bool\n}\nvariable \"d\" {\n  type = set(string)\n}\n"
        let override = "variable \"a\" {\n  type = list(string)\n}\nvariable \"b\" {\n  default = 2\n}\n"
        let jsonOverride = #"{"variable": {"c": {"type": "number"}}}"#
        let files: [(name: String, text: String)] = [
            (name: "/tmp/t/override.tf", text: override), (name: "main.tf", text: main),
            (name: "more.tf", text: more), (name: "x_override.tf.json", text: jsonOverride),
        ]
        #expect(VariableTypes.declared(in: files) == ["a": "list(string)", "b": "number", "c": "number", "d": "set(string)"])
        // Without the overrides, the first declaration wins.
        #expect(VariableTypes.declared(in: [(name: "main.tf", text: main), (name: "more.tf", text: more)])
            == ["a": "string", "b": "number", "d": "set(string)"])
        #expect(VariableTypes.isOverride("a/b/override.tf.json"))
        #expect(VariableTypes.isOverride("web_override.tf"))
        #expect(!VariableTypes.isOverride("overrides.tf"))
        #expect(!VariableTypes.isOverride("override.tf/main.tf"))
    }

    @Test func inferredFromTheDefault() {
        #expect(VariableTypes.inferred(fromDefault: nil) == "string")
        #expect(VariableTypes.inferred(fromDefault: .null) == "string")
        #expect(VariableTypes.inferred(fromDefault: .string("ws")) == "string")
        #expect(VariableTypes.inferred(fromDefault: .int(5)) == "number")
        #expect(VariableTypes.inferred(fromDefault: .double(0.5)) == "number")
        #expect(VariableTypes.inferred(fromDefault: .bool(false)) == "bool")
        #expect(VariableTypes.inferred(fromDefault: .array([])) == "tuple([])")
        #expect(VariableTypes.inferred(fromDefault: .object([:])) == "object({})")
        #expect(VariableTypes.inferred(fromDefault: .array([.string("a"), .int(1), .null])) == "tuple([string,number,any])")
        #expect(VariableTypes.inferred(fromDefault: .object(["b": .bool(true), "a b": .null, "a": .array([.object(["x": .int(1)])])]))
            == #"object({a=tuple([object({x=number})]),"a b"=any,b=bool})"#)
        // Too long to be worth showing: the constraint an untyped variable really has.
        #expect(VariableTypes.inferred(fromDefault: .array(Array(repeating: .string("x"), count: 200))) == "any")
        var deep = JSONValue.array([])
        for _ in 0..<500 { deep = .array([deep]) }
        #expect(VariableTypes.inferred(fromDefault: deep) == "any")
    }
}

import Foundation
import ProvisionerProtocol
import Testing
@testable import ProvisionerDaemon

/// Terraform's `-json` UI into job log lines. The lines are real, captured from Terraform 1.11.4
/// (timestamps and long fields shortened where they do not matter).
@Suite struct TerraformUITests {
    // MARK: - Plain messages

    @Test func theVersionAndInitLinesKeepTheirMessage() throws {
        let version = #"{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui","@timestamp":"2026-12-07T23:07:45.173026Z","terraform":"1.11.4","type":"version","ui":"1.2"}"#
        let line = try #require(TerraformUI.logLine(version, stage: "init", redacting: []))
        #expect(line.level == "info")
        #expect(line.stage == "init")
        #expect(line.output == "Terraform 1.11.4")

        let initOutput = #"{"@level":"info","@message":"Initializing the backend...","@module":"terraform.ui","@timestamp":"2026-12-07T23:07:45Z","message_code":"initializing_backend_message","type":"init_output"}"#
        #expect(TerraformUI.logLine(initOutput, stage: "init", redacting: [])?.output == "Initializing the backend...")
    }

    @Test func applyProgressAndLocalExecOutputAreTheirMessage() throws {
        let start = #"{"@level":"info","@message":"terraform_data.r[0]: Creating...","@module":"terraform.ui","@timestamp":"2026-12-07T23:09:23.487180Z","hook":{"resource":{"addr":"terraform_data.r[0]","module":"","resource":"terraform_data.r[0]","implied_provider":"terraform","resource_type":"terraform_data","resource_name":"r","resource_key":0},"action":"create"},"type":"apply_start"}"#
        #expect(TerraformUI.logLine(start, stage: "apply", redacting: [])?.output == "terraform_data.r[0]: Creating...")
        let progress = #"{"@level":"info","@message":"terraform_data.workspace[0]: (local-exec): created /tmp/tfr/wsdir/ws-1234.txt","@module":"terraform.ui","@timestamp":"2026-12-07T23:12:47.704489Z","hook":{"resource":{"addr":"terraform_data.workspace[0]"},"provisioner":"local-exec","output":"created /tmp/tfr/wsdir/ws-1234.txt"},"type":"provision_progress"}"#
        let line = try #require(TerraformUI.logLine(progress, stage: "apply", redacting: []))
        #expect(line.output == "terraform_data.workspace[0]: (local-exec): created /tmp/tfr/wsdir/ws-1234.txt")
        #expect(line.level == "info")
    }

    @Test func messagesWrappedInNewlinesAreTrimmed() {
        let interrupt = #"{"@level":"info","@message":"\nInterrupt received.\nPlease wait for Terraform to exit or data loss may occur.\nGracefully shutting down...\n","@module":"terraform.ui","@timestamp":"2026-12-07T23:10:04.103303Z","type":"log"}"#
        #expect(TerraformUI.logLine(interrupt, stage: "apply", redacting: [])?.output
            == "Interrupt received.\nPlease wait for Terraform to exit or data loss may occur.\nGracefully shutting down...")
    }

    @Test func levelsComeFromAtLevel() {
        func level(_ raw: String) -> String? {
            TerraformUI.logLine(#"{"@level":"\#(raw)","@message":"m","type":"log"}"#, stage: "plan", redacting: [])?.level
        }
        #expect(level("info") == "info")
        #expect(level("warn") == "warn")
        #expect(level("error") == "error")
        #expect(level("debug") == "info")
        #expect(level("trace") == "info")
        #expect(level("LOUD") == "info")
        // No @level, or one that is not a string: still a line, at info.
        #expect(TerraformUI.logLine(#"{"@message":"m","type":"log"}"#, stage: "plan", redacting: [])?.level == "info")
        #expect(TerraformUI.logLine(#"{"@level":5,"@message":"m","type":"log"}"#, stage: "plan", redacting: [])?.level == "info")
    }

    @Test func unknownTypesShowTheirMessage() {
        let future = #"{"@level":"info","@message":"something new happened","type":"ephemeral_open_start","hook":{"x":1}}"#
        #expect(TerraformUI.logLine(future, stage: "apply", redacting: [])?.output == "something new happened")
    }

    // MARK: - Diagnostics

    @Test func anErrorDiagnosticShowsSummaryDetailAndPlace() throws {
        let diagnostic = #"{"@level":"error","@message":"Error: Invalid operand","@module":"terraform.ui","@timestamp":"2026-12-07T23:12:13.053922Z","diagnostic":{"severity":"error","summary":"Invalid operand","detail":"Unsuitable value for left operand: a number is required.","range":{"filename":"main.tf","start":{"line":6,"column":11,"byte":96},"end":{"line":6,"column":16,"byte":101}},"snippet":{"context":"resource \"terraform_data\" \"r\"","code":"  input = var.s + 1","start_line":6,"highlight_start_offset":10,"highlight_end_offset":15,"values":[{"traversal":"var.s","statement":"is \"abc\""}]}},"type":"diagnostic"}"#
        let line = try #require(TerraformUI.logLine(diagnostic, stage: "plan", redacting: []))
        #expect(line.level == "error")
        #expect(line.output == """
            Error: Invalid operand
            Unsuitable value for left operand: a number is required.
            on main.tf line 6, in resource "terraform_data" "r":
              6:   input = var.s + 1
                var.s is "abc"
            """)
    }

    @Test func aSnippetOfSeveralLinesIsNumberedFromItsStartLine() throws {
        let diagnostic = #"{"@level":"error","@message":"Error: Invalid multi-line string","diagnostic":{"severity":"error","summary":"Invalid multi-line string","detail":"Quoted strings may not be split over multiple lines.","range":{"filename":"main.tf","start":{"line":2,"column":13,"byte":44},"end":{"line":3,"column":1,"byte":45}},"snippet":{"context":"resource \"terraform_data\" \"a\"","code":"  input = \"x\n}","start_line":2,"highlight_start_offset":12,"highlight_end_offset":13,"values":[]}},"type":"diagnostic"}"#
        let output = try #require(TerraformUI.logLine(diagnostic, stage: "init", redacting: [])?.output)
        #expect(output.contains("  2:   input = \"x\n  3: }"))
    }

    @Test func aDiagnosticWithoutAPlaceEndsAtItsDetail() throws {
        let warning = #"{"@level":"warn","@message":"Warning: Value for undeclared variable","@module":"terraform.ui","@timestamp":"2026-12-07T23:09:17.842892Z","diagnostic":{"severity":"warning","summary":"Value for undeclared variable","detail":"The root module does not declare a variable named \"bogus\" but a value was found in file \"undeclared.tfvars.json\"."},"type":"diagnostic"}"#
        let line = try #require(TerraformUI.logLine(warning, stage: "plan", redacting: []))
        #expect(line.level == "warn")
        #expect(line.output == "Warning: Value for undeclared variable\nThe root module does not declare a variable named \"bogus\" but a value was found in file \"undeclared.tfvars.json\".")

        let halted = #"{"@level":"error","@message":"Error: execution halted","diagnostic":{"severity":"error","summary":"execution halted","detail":""},"type":"diagnostic"}"#
        #expect(TerraformUI.logLine(halted, stage: "apply", redacting: [])?.output == "Error: execution halted")
    }

    @Test func parseKeepsWhatTheRunnerNeeds() throws {
        let failed = #"{"@level":"error","@message":"Error: local-exec provisioner error","@module":"terraform.ui","@timestamp":"2026-12-07T23:09:02.964045Z","diagnostic":{"severity":"error","summary":"local-exec provisioner error","detail":"Error running command 'echo about to fail; exit 1': exit status 1. Output: about to fail\n","address":"terraform_data.second","range":{"filename":"main.tf","start":{"line":7,"column":28,"byte":190},"end":{"line":7,"column":29,"byte":191}},"snippet":{"context":"resource \"terraform_data\" \"second\"","code":"  provisioner \"local-exec\" {","start_line":7,"highlight_start_offset":27,"highlight_end_offset":28,"values":[]}},"type":"diagnostic"}"#
        let message = try #require(TerraformUIMessage.parse(failed))
        #expect(message.type == "diagnostic")
        #expect(message.level == "error")
        #expect(message.isError)
        let diagnostic = try #require(message.diagnostic)
        #expect(diagnostic.summary == "local-exec provisioner error")
        #expect(diagnostic.address == "terraform_data.second")
        #expect(diagnostic.filename == "main.tf")
        #expect(diagnostic.line == 7)
        #expect(diagnostic.codeStartLine == 7)

        let warning = #"{"@level":"warn","@message":"Warning: x","diagnostic":{"severity":"warning","summary":"x","detail":""},"type":"diagnostic"}"#
        #expect(TerraformUIMessage.parse(warning)?.isError == false)
        #expect(TerraformUIMessage.parse(#"{"@level":"info","@message":"Plan: 0 to add, 0 to change, 0 to destroy.","type":"change_summary"}"#)?.isError == false)
        #expect(TerraformUIMessage.parse("panic: runtime error: invalid memory address") == nil)
        #expect(TerraformUIMessage.parse("") == nil)
        #expect(TerraformUIMessage.parse("[1,2]") == nil)
        #expect(TerraformUIMessage.parse("{not json") == nil)
    }

    @Test func aDiagnosticWithOddFieldsKeepsTheRest() throws {
        // A range whose line is not a number, a snippet that is a string: the summary survives.
        let odd = #"{"@level":"error","@message":"Error: s","diagnostic":{"severity":"error","summary":"s","detail":"d","range":{"filename":"main.tf","start":{"line":"six"}},"snippet":"nope"},"type":"diagnostic"}"#
        let message = try #require(TerraformUIMessage.parse(odd))
        #expect(message.diagnostic?.summary == "s")
        #expect(message.diagnostic?.line == nil)
        #expect(TerraformUI.logLine(odd, stage: "plan", redacting: [])?.output == "Error: s\nd\non main.tf")
        // A start line near Int.max does not trap when the snippet's lines are numbered.
        let huge = #"{"@level":"error","@message":"Error: s","diagnostic":{"severity":"error","summary":"s","detail":"","range":{"filename":"main.tf","start":{"line":9223372036854775807}},"snippet":{"code":"a\nb","start_line":9223372036854775807}},"type":"diagnostic"}"#
        let output = try #require(TerraformUI.logLine(huge, stage: "plan", redacting: [])?.output)
        #expect(output.contains("9223372036854775807: a"))
        #expect(output.hasSuffix("\n  b"))
    }

    @Test func theFailureMessageIsTerraformsOwnErrors() throws {
        let error = TerraformUIMessage.Diagnostic(
            severity: "error", summary: "No value for required variable",
            detail: "The root module input variable \"n\" is not set, and has no default value.",
            filename: "main.tf", line: 1, context: nil, code: "variable \"n\" {", codeStartLine: 1
        )
        let warning = TerraformUIMessage.Diagnostic(severity: "warning", summary: "Value for undeclared variable")
        let message = try #require(TerraformUI.failureMessage(from: [warning, error], redacting: []))
        #expect(message == "Error: No value for required variable\nThe root module input variable \"n\" is not set, and has no default value.\non main.tf line 1")
        #expect(TerraformUI.failureMessage(from: [warning], redacting: []) == nil)
        #expect(TerraformUI.failureMessage(from: [], redacting: []) == nil)

        let two = try #require(TerraformUI.failureMessage(from: [error, error], redacting: ["root module"]))
        #expect(two.components(separatedBy: "Error: ").count == 3)
        #expect(!two.contains("root module"))
    }

    // MARK: - Not JSON

    @Test func linesThatAreNotJSONAreLoggedAsTheyAre() throws {
        let stdout = try #require(TerraformUI.logLine("  plain text from terraform\r\n", stage: "plan", redacting: []))
        #expect(stdout.level == "info")
        #expect(stdout.output == "  plain text from terraform")
        let crash = try #require(TerraformUI.logLine("panic: value for var.num was requested before it was provided", stage: "plan", redacting: [], from: .stderr))
        #expect(crash.level == "error")
        #expect(crash.output == "panic: value for var.num was requested before it was provided")
        // JSON on stderr is still read as a UI message.
        let json = #"{"@level":"warn","@message":"careful","type":"log"}"#
        #expect(TerraformUI.logLine(json, stage: "plan", redacting: [], from: .stderr)?.level == "warn")
    }

    @Test func blankLinesAndEmptyMessagesAreDropped() {
        #expect(TerraformUI.logLine("", stage: "plan", redacting: []) == nil)
        #expect(TerraformUI.logLine("   \t\r\n", stage: "plan", redacting: [], from: .stderr) == nil)
        #expect(TerraformUI.logLine(#"{"@level":"info","@message":"","type":"log"}"#, stage: "plan", redacting: []) == nil)
        #expect(TerraformUI.logLine(#"{"@level":"info","@message":"\n\n","type":"log"}"#, stage: "plan", redacting: []) == nil)
    }

    @Test func theTimeIsTheOneGiven() {
        let time = Date(timeIntervalSince1970: 1_000_000)
        #expect(TerraformUI.logLine("x", stage: "plan", redacting: [], at: time)?.createdAt == time)
    }

    // MARK: - Redaction

    @Test func sensitiveValuesAreRedactedEverywhere() throws {
        let progress = #"{"@level":"info","@message":"terraform_data.ws[0]: (local-exec): secret is hunter2","hook":{"output":"secret is hunter2"},"type":"provision_progress"}"#
        #expect(TerraformUI.logLine(progress, stage: "apply", redacting: ["hunter2"])?.output == "terraform_data.ws[0]: (local-exec): secret is *redacted*")
        // In a diagnostic's detail and snippet values, and in raw stderr.
        let diagnostic = #"{"@level":"error","@message":"Error: x","diagnostic":{"severity":"error","summary":"bad token s3cr3t-token","detail":"Output: s3cr3t-token\n","range":{"filename":"main.tf","start":{"line":1}},"snippet":{"code":"x","start_line":1,"values":[{"traversal":"var.t","statement":"is \"s3cr3t-token\""}]}},"type":"diagnostic"}"#
        let output = try #require(TerraformUI.logLine(diagnostic, stage: "apply", redacting: ["s3cr3t-token"])?.output)
        #expect(!output.contains("s3cr3t"))
        #expect(output.components(separatedBy: "*redacted*").count == 4)
        #expect(TerraformUI.logLine("token=s3cr3t-token", stage: "apply", redacting: ["s3cr3t-token"], from: .stderr)?.output == "token=*redacted*")
    }

    @Test func shortAndEmptyValuesAreNotSearchedFor() {
        #expect(TerraformUI.redact("a 1 ab abc", secrets: ["", "1", "ab", "abc"]) == "a 1 ab abc")
        #expect(TerraformUI.redact("x abcd y", secrets: ["abcd"]) == "x *redacted* y")
        #expect(TerraformUI.redact("unchanged", secrets: []) == "unchanged")
    }

    @Test func longerValuesAreRedactedFirstAndMultiLineValuesLineByLine() {
        #expect(TerraformUI.redact("x hunter2-extended y", secrets: ["hunter2", "hunter2-extended"]) == "x *redacted* y")
        // A two-line secret reaches the log one line at a time.
        let secret = "first-line-of-key\nsecond-line-of-key"
        #expect(TerraformUI.redact("(local-exec): second-line-of-key", secrets: [secret]) == "(local-exec): *redacted*")
        #expect(TerraformUI.redact("all: first-line-of-key\nsecond-line-of-key", secrets: [secret]) == "all: *redacted*")
    }

    // MARK: - Hostile sizes and bytes

    @Test func aHugeLineIsCutBetweenCharacters() throws {
        let e = "\u{E9}" // é, two bytes in UTF-8
        let huge = String(repeating: e, count: 40_000) // 80,000 bytes
        let output = try #require(TerraformUI.logLine(huge, stage: "apply", redacting: [])?.output)
        #expect(output.utf8.count < TerraformUI.maxOutputBytes + 100)
        #expect(output.hasPrefix(String(repeating: e, count: TerraformUI.maxOutputBytes / 2)))
        #expect(output.hasSuffix("more bytes not shown)"))
        #expect(!output.contains("\u{FFFD}"))
    }

    @Test func aSecretPastTheCutIsStillRedacted() throws {
        let secret = "topsecretvalue"
        let line = String(repeating: "x", count: TerraformUI.maxOutputBytes - 4) + secret
        let output = try #require(TerraformUI.logLine(line, stage: "apply", redacting: [secret])?.output)
        #expect(!output.contains("tops"))
    }

    @Test func randomInputNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "\"@level\"", "\"@message\"", ":", ",", "\"diagnostic\"", "\"range\"", "\"line\"", "1e400", "-1", "null", "[", "]", "\"\\u0000\"", "\"type\"", "\"snippet\"", "\"start_line\"", "99999999999999999999"]
        for _ in 0..<500 {
            let line = (0..<Int.random(in: 0...40, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            _ = TerraformUI.logLine(line, stage: "plan", redacting: ["hunter2"])
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = TerraformUI.logLine(String(decoding: bytes, as: UTF8.self), stage: "plan", redacting: ["hunter2"], from: .stderr)
        }
    }
}

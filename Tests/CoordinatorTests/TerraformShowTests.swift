import Foundation
import Testing
@testable import ProvisionerDaemon

/// `terraform show -json` of plans and states, from real Terraform 1.11.4 output.
@Suite struct TerraformShowTests {
    /// The plan of a template with a `count` resource, a plain one, a sensitive variable, a
    /// required one and three outputs (one unknown until apply), exactly as Terraform printed it.
    static let createPlan = #"{"format_version":"1.2","terraform_version":"1.11.4","variables":{"name":{"value":"ws"},"required_thing":{"value":"rt"},"secret":{"value":"hunter2"},"start_count":{"value":1},"tags":{"value":{}}},"planned_values":{"outputs":{"coder_daily_costs":{"sensitive":false,"type":["object",{"terraform_data.ws[0]":"number"}],"value":{"terraform_data.ws[0]":3}},"ids":{"sensitive":false},"sec":{"sensitive":true,"type":"string","value":"hunter2"}},"root_module":{"resources":[{"address":"terraform_data.known","mode":"managed","type":"terraform_data","name":"known","provider_name":"terraform.io/builtin/terraform","schema_version":0,"values":{"input":"fixed","triggers_replace":null},"sensitive_values":{}},{"address":"terraform_data.ws[0]","mode":"managed","type":"terraform_data","name":"ws","index":0,"provider_name":"terraform.io/builtin/terraform","schema_version":0,"values":{"input":"ws-0","triggers_replace":null},"sensitive_values":{}}]}},"resource_changes":[{"address":"terraform_data.known","mode":"managed","type":"terraform_data","name":"known","provider_name":"terraform.io/builtin/terraform","change":{"actions":["create"],"before":null,"after":{"input":"fixed","triggers_replace":null},"after_unknown":{"id":true,"output":true},"before_sensitive":false,"after_sensitive":{}}},{"address":"terraform_data.ws[0]","mode":"managed","type":"terraform_data","name":"ws","index":0,"provider_name":"terraform.io/builtin/terraform","change":{"actions":["create"],"before":null,"after":{"input":"ws-0","triggers_replace":null},"after_unknown":{"id":true,"output":true},"before_sensitive":false,"after_sensitive":{}}}],"output_changes":{"coder_daily_costs":{"actions":["create"],"before":null,"after":{"terraform_data.ws[0]":3},"after_unknown":false,"before_sensitive":false,"after_sensitive":false},"ids":{"actions":["create"],"before":null,"after":[null],"after_unknown":[true],"before_sensitive":false,"after_sensitive":false},"sec":{"actions":["create"],"before":null,"after":"hunter2","after_unknown":false,"before_sensitive":true,"after_sensitive":true}},"prior_state":{"format_version":"1.0","terraform_version":"1.11.4","values":{"outputs":{"coder_daily_costs":{"sensitive":false,"value":{"terraform_data.ws[0]":3},"type":["object",{"terraform_data.ws[0]":"number"}]},"sec":{"sensitive":true,"value":"hunter2","type":"string"}},"root_module":{}}},"configuration":{"provider_config":{"terraform":{"name":"terraform","full_name":"terraform.io/builtin/terraform"}},"root_module":{"outputs":{"coder_daily_costs":{"expression":{"references":["terraform_data.ws"]}},"ids":{"expression":{"references":["terraform_data.ws"]}},"sec":{"sensitive":true,"expression":{"references":["var.secret"]}}},"resources":[{"address":"terraform_data.known","mode":"managed","type":"terraform_data","name":"known","provider_config_key":"terraform","expressions":{"input":{"constant_value":"fixed"}},"schema_version":0},{"address":"terraform_data.ws","mode":"managed","type":"terraform_data","name":"ws","provider_config_key":"terraform","provisioners":[{"type":"local-exec","expressions":{"command":{"constant_value":"echo hello from local-exec $NAME; echo to-stderr \u003e\u00262; echo secret is $SECRET"},"environment":{"references":["var.name","var.secret"]}}}],"expressions":{"input":{"references":["var.name","count.index"]}},"schema_version":0,"count_expression":{"references":["var.start_count"]}}],"variables":{"name":{"default":"ws"},"required_thing":{},"secret":{"default":"hunter2","sensitive":true},"start_count":{"default":1,"description":"how many"},"tags":{"default":{}}}}},"relevant_attributes":[{"resource":"terraform_data.ws","attribute":[]}],"timestamp":"2026-12-07T23:08:40Z","applyable":true,"complete":true,"errored":false}"#

    /// The state after applying that plan.
    static let appliedState = #"{"format_version":"1.0","terraform_version":"1.11.4","values":{"outputs":{"coder_daily_costs":{"sensitive":false,"value":{"terraform_data.ws[0]":3},"type":["object",{"terraform_data.ws[0]":"number"}]},"ids":{"sensitive":false,"value":["0effa8c5-1f68-2b61-aa37-ccb18f44a2cf"],"type":["tuple",["string"]]},"sec":{"sensitive":true,"value":"hunter2","type":"string"}},"root_module":{"resources":[{"address":"terraform_data.known","mode":"managed","type":"terraform_data","name":"known","provider_name":"terraform.io/builtin/terraform","schema_version":0,"values":{"id":"d52b0d21-2b6d-d97a-8ffc-171fa22488d8","input":"fixed","output":"fixed","triggers_replace":null},"sensitive_values":{}},{"address":"terraform_data.ws[0]","mode":"managed","type":"terraform_data","name":"ws","index":0,"provider_name":"terraform.io/builtin/terraform","schema_version":0,"values":{"id":"0effa8c5-1f68-2b61-aa37-ccb18f44a2cf","input":"ws-0","output":"ws-0","triggers_replace":null},"sensitive_values":{}}]}}}"#

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: - Plans

    @Test func aPlanListsItsManagedResourcesAndWhatItDoes() throws {
        let plan = try TerraformShow.plan(Self.bytes(Self.createPlan))
        #expect(plan.resources == [
            TerraformShow.ManagedResource(address: "terraform_data.known", type: "terraform_data", name: "known"),
            TerraformShow.ManagedResource(address: "terraform_data.ws[0]", type: "terraform_data", name: "ws"),
        ])
        #expect(plan.changes == [
            TerraformShow.ResourceChange(address: "terraform_data.known", actions: ["create"]),
            TerraformShow.ResourceChange(address: "terraform_data.ws[0]", actions: ["create"]),
        ])
        #expect(plan.declaredResources == ["terraform_data.known", "terraform_data.ws"])
    }

    @Test func aPlanListsTheDeclaredVariablesAndTheirValues() throws {
        let plan = try TerraformShow.plan(Self.bytes(Self.createPlan))
        #expect(plan.variables.map(\.name) == ["name", "required_thing", "secret", "start_count", "tags"])
        let byName = Dictionary(uniqueKeysWithValues: plan.variables.map { ($0.name, $0) })
        let name = try #require(byName["name"])
        #expect(name.defaultJSON == #""ws""#)
        #expect(!name.required)
        #expect(!name.sensitive)
        #expect(name.description == nil)
        let required = try #require(byName["required_thing"])
        #expect(required.required)
        #expect(required.defaultJSON == nil)
        let secret = try #require(byName["secret"])
        #expect(secret.sensitive)
        #expect(secret.defaultJSON == #""hunter2""#)
        let count = try #require(byName["start_count"])
        #expect(count.defaultJSON == "1")
        #expect(count.description == "how many")
        #expect(byName["tags"]?.defaultJSON == "{}")

        #expect(plan.values["name"].map(TerraformShow.jsonText) == #""ws""#)
        #expect(plan.values["required_thing"].map(TerraformShow.jsonText) == #""rt""#)
        #expect(plan.values["start_count"].map(TerraformShow.jsonText) == "1")
        #expect(plan.values["tags"].map(TerraformShow.jsonText) == "{}")
    }

    @Test func aPlansOutputsAreKnownOrNot() throws {
        let plan = try TerraformShow.plan(Self.bytes(Self.createPlan))
        #expect(plan.outputs["coder_daily_costs"]?.valueJSON == #"{"terraform_data.ws[0]":3}"#)
        // Only known after apply: no value at all.
        let ids = try #require(plan.outputs["ids"])
        #expect(ids.value == nil)
        #expect(!ids.sensitive)
        let sec = try #require(plan.outputs["sec"])
        #expect(sec.sensitive)
        #expect(sec.valueJSON == #""hunter2""#)
    }

    @Test func theSensitiveValuesAreTheSensitiveVariablesAndOutputs() throws {
        let plan = try TerraformShow.plan(Self.bytes(Self.createPlan))
        #expect(plan.sensitiveValues == ["hunter2"])

        // A value given as TF_VAR_ is a string; a structured one gives its JSON and its leaves.
        let structured = try TerraformShow.plan(Self.bytes(#"""
            {"format_version":"1.2","variables":{"token":{"value":"1234"},"creds":{"value":{"user":"bob","pass":"pa55word","pin":4242,"on":true}},"open":{"value":"visible"}},
             "configuration":{"root_module":{"variables":{"token":{"sensitive":true},"creds":{"sensitive":true},"open":{},"unset":{"default":"dflt-secret","sensitive":true}}}}}
            """#))
        let values = Set(structured.sensitiveValues)
        #expect(values.contains("1234"))
        #expect(values.contains("pa55word"))
        #expect(values.contains("bob"))
        #expect(values.contains("4242"))
        #expect(values.contains(#"{"on":true,"pass":"pa55word","pin":4242,"user":"bob"}"#))
        #expect(values.contains("dflt-secret"))
        #expect(!values.contains("visible"))
        #expect(!values.contains("true"))
    }

    @Test func aStopPlanKeepsNothingAndDeletesTheInstance() throws {
        // The file template's stop (start_count 0), trimmed to the parts read.
        let plan = try TerraformShow.plan(Self.bytes(#"{"format_version":"1.2","planned_values":{"outputs":{"coder_daily_costs":{"sensitive":false,"type":["object",{}],"value":{}},"workspace_file":{"sensitive":false,"type":"string","value":""}},"root_module":{}},"resource_changes":[{"address":"terraform_data.workspace[0]","mode":"managed","type":"terraform_data","name":"workspace","index":0,"provider_name":"terraform.io/builtin/terraform","change":{"actions":["delete"],"before":{"id":"a52be878-6137-150d-bcc6-7f89ab773d3f"},"after":null,"after_unknown":{},"before_sensitive":{},"after_sensitive":false},"action_reason":"delete_because_count_index"}]}"#))
        #expect(plan.resources.isEmpty)
        #expect(plan.changes == [TerraformShow.ResourceChange(address: "terraform_data.workspace[0]", actions: ["delete"])])
        #expect(plan.outputs["coder_daily_costs"]?.valueJSON == "{}")
        #expect(plan.variables.isEmpty)
    }

    @Test func aDestroyPlanHasNoOutputs() throws {
        let plan = try TerraformShow.plan(Self.bytes(#"{"format_version":"1.2","planned_values":{"root_module":{}},"resource_changes":[{"address":"terraform_data.workspace[0]","mode":"managed","type":"terraform_data","name":"workspace","index":0,"change":{"actions":["delete"]}}]}"#))
        #expect(plan.outputs.isEmpty)
        #expect(plan.resources.isEmpty)
        #expect(plan.changes.map(\.actions) == [["delete"]])
    }

    @Test func childModulesAreWalkedAndDataSourcesLeftOut() throws {
        let plan = try TerraformShow.plan(Self.bytes(#"""
            {"format_version":"1.2",
             "planned_values":{"root_module":{
               "resources":[{"address":"data.external.x","mode":"data","type":"external","name":"x"},
                            {"address":"terraform_data.top","mode":"managed","type":"terraform_data","name":"top"}],
               "child_modules":[{"address":"module.net","resources":[{"address":"module.net.terraform_data.a[\"k\"]","mode":"managed","type":"terraform_data","name":"a","index":"k"}],
                                 "child_modules":[{"address":"module.net.module.deep","resources":[{"address":"module.net.module.deep.terraform_data.b","mode":"managed","type":"terraform_data","name":"b"}]}]}]}},
             "resource_changes":[{"address":"data.external.x","mode":"data","type":"external","name":"x","change":{"actions":["read"]}},
                                 {"address":"module.net.terraform_data.a[\"k\"]","module_address":"module.net","mode":"managed","type":"terraform_data","name":"a","change":{"actions":["create"]}}],
             "configuration":{"root_module":{
               "resources":[{"address":"terraform_data.top","mode":"managed","type":"terraform_data","name":"top"},{"address":"data.external.x","mode":"data","type":"external","name":"x"}],
               "module_calls":{"net":{"source":"./net","module":{"resources":[{"address":"terraform_data.a","mode":"managed","type":"terraform_data","name":"a"}],
                                                                  "module_calls":{"deep":{"source":"./deep","module":{"resources":[{"address":"terraform_data.b","mode":"managed","type":"terraform_data","name":"b"}]}}}}}}}}}
            """#))
        #expect(plan.resources.map(\.address) == ["terraform_data.top", #"module.net.terraform_data.a["k"]"#, "module.net.module.deep.terraform_data.b"])
        #expect(plan.resources.map(\.name) == ["top", "a", "b"])
        #expect(plan.changes.map(\.address) == [#"module.net.terraform_data.a["k"]"#])
        #expect(plan.declaredResources == ["terraform_data.top", "module.net.terraform_data.a", "module.net.module.deep.terraform_data.b"])
    }

    @Test func aDefaultOfNullIsOptionalAndValuesAsSupplied() throws {
        let plan = try TerraformShow.plan(Self.bytes(#"{"format_version":"1.2","variables":{"n":{"value":"1"},"nothing":{"value":null}},"configuration":{"root_module":{"variables":{"opt":{"default":null},"n":{}}}}}"#))
        let optional = try #require(plan.variables.first { $0.name == "opt" })
        #expect(!optional.required)
        #expect(optional.defaultJSON == "null")
        #expect(plan.variables.first { $0.name == "n" }?.required == true)
        // TF_VAR_n=1 is the string "1"; a value that is null is a value.
        #expect(plan.values["n"].map(TerraformShow.jsonText) == #""1""#)
        #expect(plan.values["nothing"].map(TerraformShow.jsonText) == "null")
    }

    // MARK: - States

    @Test func aStateListsItsManagedResourcesAndOutputs() throws {
        let state = try TerraformShow.state(Self.bytes(Self.appliedState))
        #expect(state.resources == [
            TerraformShow.ManagedResource(address: "terraform_data.known", type: "terraform_data", name: "known"),
            TerraformShow.ManagedResource(address: "terraform_data.ws[0]", type: "terraform_data", name: "ws"),
        ])
        #expect(state.outputs["coder_daily_costs"]?.valueJSON == #"{"terraform_data.ws[0]":3}"#)
        #expect(state.outputs["ids"]?.valueJSON == #"["0effa8c5-1f68-2b61-aa37-ccb18f44a2cf"]"#)
        #expect(state.outputs["sec"]?.sensitive == true)
    }

    @Test func anEmptyStateHasNothing() throws {
        let empty = try TerraformShow.state(Self.bytes(#"{"format_version":"1.0"}"#))
        #expect(empty.resources.isEmpty)
        #expect(empty.outputs.isEmpty)
        // Outputs but no resources: "root_module":{} with no "resources" key.
        let outputsOnly = try TerraformShow.state(Self.bytes(#"{"format_version":"1.0","terraform_version":"1.11.4","values":{"outputs":{"coder_daily_costs":{"sensitive":false,"value":{},"type":["object",{}]},"workspace_file":{"sensitive":false,"value":"","type":"string"}},"root_module":{}}}"#))
        #expect(outputsOnly.resources.isEmpty)
        #expect(outputsOnly.outputs["workspace_file"]?.valueJSON == #""""#)
    }

    @Test func aTaintedResourceIsStillInTheState() throws {
        let state = try TerraformShow.state(Self.bytes(#"{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"terraform_data.first","mode":"managed","type":"terraform_data","name":"first","values":{}},{"address":"terraform_data.second","mode":"managed","type":"terraform_data","name":"second","tainted":true,"values":{}}]}}}"#))
        #expect(state.resources.map(\.address) == ["terraform_data.first", "terraform_data.second"])
    }

    // MARK: - What cannot be read

    @Test func unreadableOutputIsAnErrorSayingWhy() {
        func failure(_ text: String, plan: Bool = true) -> String? {
            do {
                if plan { _ = try TerraformShow.plan(Self.bytes(text)) } else { _ = try TerraformShow.state(Self.bytes(text)) }
                return nil
            } catch let error as TerraformShowError {
                return error.message
            } catch {
                return "not a TerraformShowError: \(error)"
            }
        }
        #expect(failure("")?.contains("printed nothing") == true)
        #expect(failure(" \n", plan: false)?.contains("printed nothing") == true)
        #expect(failure("Error: something")?.contains("cannot read") == true)
        #expect(failure("[]", plan: false)?.contains("cannot read") == true)
        #expect(failure(#"{"format_version":"2.0"}"#)?.contains("format 2.0") == true)
        // A resource without its address: the message says where.
        let missing = failure(#"{"format_version":"1.0","values":{"root_module":{"resources":[{"mode":"managed","type":"t","name":"n"}]}}}"#, plan: false)
        #expect(missing?.contains("address") == true)
        #expect(failure(#"{"format_version":"1.2","resource_changes":{"not":"a list"}}"#)?.contains("resource_changes") == true)
    }

    @Test func unknownFieldsAreIgnored() throws {
        let plan = try TerraformShow.plan(Self.bytes(#"{"format_version":"1.9","brand_new":{"x":[1,2,3]},"planned_values":{"root_module":{"resources":[{"address":"a.b","mode":"managed","type":"a","name":"b","future":true}]}}}"#))
        #expect(plan.resources.map(\.address) == ["a.b"])
    }

    @Test func randomInputNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "[", "]", ":", ",", #""planned_values""#, #""root_module""#, #""child_modules""#, #""resources""#, #""address""#, #""mode""#, #""managed""#, #""outputs""#, #""value""#, "null", "1e999", "-0", #""x""#]
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 0...60, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            _ = try? TerraformShow.plan(Self.bytes(text))
            _ = try? TerraformShow.state(Self.bytes(text))
        }
        // Deep nesting is refused by the parser, not a stack overflow.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        _ = try? TerraformShow.plan(Self.bytes(#"{"variables":{"x":{"value":"# + deep + "}}}"))
    }
}

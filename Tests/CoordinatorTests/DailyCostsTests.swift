import Foundation
import Testing
@testable import ProvisionerDaemon

/// The `coder_daily_costs` convention, read from plans shaped as Terraform 1.11.4 prints them.
@Suite struct DailyCostsTests {
    /// A plan whose planned instances are `resources`, declaring `declared` in its configuration,
    /// with `costs` as the output's JSON value (nil: no such output; "unknown": not known until
    /// apply, as Terraform writes it: `{"sensitive":false}` alone).
    static func plan(resources: [String], declared: [String] = [], costs: String?) throws -> TerraformShow.Plan {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let planned = resources.map { address in
            #"{"address":\#(quoted(address)),"mode":"managed","type":"terraform_data","name":"r","provider_name":"terraform.io/builtin/terraform"}"#
        }.joined(separator: ",")
        let configured = declared.map { #"{"address":\#(quoted($0)),"mode":"managed","type":"terraform_data","name":"r"}"# }.joined(separator: ",")
        var outputs = ""
        switch costs {
        case nil: break
        case "unknown"?: outputs = #""outputs":{"coder_daily_costs":{"sensitive":false}},"#
        case let value?: outputs = #""outputs":{"coder_daily_costs":{"sensitive":false,"type":["object",{}],"value":\#(value)}},"#
        }
        let json = #"{"format_version":"1.2","planned_values":{\#(outputs)"root_module":{"resources":[\#(planned)]}},"configuration":{"root_module":{"resources":[\#(configured)]}}}"#
        return try TerraformShow.plan(Array(json.utf8))
    }

    static func problem(resources: [String], declared: [String] = [], costs: String?) throws -> String? {
        let parsed = try Self.plan(resources: resources, declared: declared, costs: costs)
        do {
            _ = try DailyCosts.fromPlan(parsed)
            return nil
        } catch let error as DailyCostsError {
            return error.message
        } catch {
            return "not a DailyCostsError: \(error)"
        }
    }

    @Test func theFileTemplatesStartPlan() throws {
        // tpl-file-1-start-show-plan.json, trimmed to what is read.
        let plan = try TerraformShow.plan(Array(#"{"format_version":"1.2","planned_values":{"outputs":{"coder_daily_costs":{"sensitive":false,"type":["object",{"terraform_data.workspace[0]":"number"}],"value":{"terraform_data.workspace[0]":1}},"workspace_file":{"sensitive":false,"type":"string","value":"/tmp/tfr/wsdir/ws-1234.txt"}},"root_module":{"resources":[{"address":"terraform_data.workspace[0]","mode":"managed","type":"terraform_data","name":"workspace","index":0,"provider_name":"terraform.io/builtin/terraform","schema_version":0,"values":{"input":{"path":"/tmp/tfr/wsdir/ws-1234.txt"}},"sensitive_values":{}}]}},"configuration":{"root_module":{"resources":[{"address":"terraform_data.workspace","mode":"managed","type":"terraform_data","name":"workspace"}]}}}"#.utf8))
        let costs = try DailyCosts.fromPlan(plan)
        #expect(costs.perResource == ["terraform_data.workspace[0]": 1])
        #expect(costs.total == 1)
        #expect(costs.cost(of: "terraform_data.workspace[0]") == 1)
        #expect(costs.cost(of: "terraform_data.other") == 0)
    }

    @Test func noOutputMeansEverythingIsFree() throws {
        let costs = try DailyCosts.fromPlan(Self.plan(resources: ["terraform_data.a", "terraform_data.b"], costs: nil))
        #expect(costs == DailyCosts.Costs(perResource: [:], total: 0))
        // A stop plan: {} and no instances.
        #expect(try DailyCosts.fromPlan(Self.plan(resources: [], costs: "{}")).total == 0)
        // A destroy plan has no outputs at all.
        #expect(try DailyCosts.fromPlan(TerraformShow.plan(Array(#"{"format_version":"1.2","planned_values":{"root_module":{}}}"#.utf8))).total == 0)
        // `value = null`.
        #expect(try DailyCosts.fromPlan(Self.plan(resources: ["terraform_data.a"], costs: "null")).total == 0)
    }

    @Test func costsUnknownAtPlanTimeAreRefused() throws {
        let message = try #require(try Self.problem(resources: ["terraform_data.ws[0]"], costs: "unknown"))
        #expect(message.contains("coder_daily_costs"))
        #expect(message.contains("known at plan time"))
    }

    @Test func everyInstanceGetsItsOwnCostAndTheTotalAddsUp() throws {
        let costs = try DailyCosts.fromPlan(Self.plan(
            resources: ["terraform_data.a[0]", "terraform_data.a[1]", "terraform_data.b", #"terraform_data.c["x"]"#],
            costs: #"{"terraform_data.a[0]": 2, "terraform_data.a[1]": 3, "terraform_data.c[\"x\"]": 0}"#
        ))
        #expect(costs.perResource == ["terraform_data.a[0]": 2, "terraform_data.a[1]": 3, #"terraform_data.c["x"]"#: 0])
        #expect(costs.total == 5)
        #expect(costs.cost(of: "terraform_data.b") == 0)
    }

    @Test func theLimitsOfAValue() throws {
        let max = Int64(Int32.max)
        #expect(try DailyCosts.fromPlan(Self.plan(resources: ["terraform_data.a"], costs: #"{"terraform_data.a": 2147483647}"#)).total == max)
        #expect(try DailyCosts.fromPlan(Self.plan(resources: ["terraform_data.a"], costs: #"{"terraform_data.a": 0}"#)).total == 0)
        // Whole numbers however written.
        #expect(try DailyCosts.fromPlan(Self.plan(resources: ["terraform_data.a"], costs: #"{"terraform_data.a": 3.0}"#)).total == 3)
        #expect(try DailyCosts.fromPlan(Self.plan(resources: ["terraform_data.a"], costs: #"{"terraform_data.a": 1e3}"#)).total == 1000)
    }

    @Test func badValuesAreRefusedNamingTheKey() throws {
        let cases: [(value: String, says: String)] = [
            ("-1", "negative"),
            ("-0.5", "negative"),
            ("2.5", "not a whole number"),
            ("2147483648", "above the largest daily cost"),
            ("99999999999999999999", "above the largest daily cost"),
            ("1e30", "above the largest daily cost"),
            (#""3""#, "a string"),
            ("true", "a boolean"),
            ("null", "null"),
            ("[1]", "a list"),
            (#"{"a":1}"#, "a map"),
        ]
        for (value, says) in cases {
            let message = try #require(try Self.problem(resources: ["terraform_data.vm[0]"], costs: #"{"terraform_data.vm[0]": \#(value)}"#), "value \(value)")
            #expect(message.contains(#""terraform_data.vm[0]""#), "value \(value): \(message)")
            #expect(message.contains(says), "value \(value): \(message)")
        }
    }

    @Test func aKeyThatNamesNoResourceIsRefused() throws {
        let typo = try #require(try Self.problem(resources: ["terraform_data.ws[0]"], costs: #"{"terraform_data.wss[0]": 1}"#))
        #expect(typo.contains(#""terraform_data.wss[0]""#))
        #expect(typo.contains("names no resource"))
        #expect(typo.contains("terraform_data.ws[0]"))
        // An instance that the plan does not keep (count went to 0) is not there either.
        let gone = try #require(try Self.problem(resources: [], declared: ["terraform_data.ws"], costs: #"{"terraform_data.ws[0]": 1}"#))
        #expect(gone.contains("names no resource"))
        #expect(gone.contains("no managed resources"))
        // A data source is not a resource anyone pays for.
        #expect(try Self.problem(resources: ["terraform_data.a"], costs: #"{"data.external.x": 1}"#)?.contains("names no resource") == true)
    }

    @Test func aKeyWithoutAnIndexCostsEachInstance() throws {
        let costs = try DailyCosts.fromPlan(Self.plan(
            resources: ["terraform_data.vm[0]", "terraform_data.vm[1]", #"terraform_data.disk["a"]"#, #"terraform_data.disk["b"]"#],
            declared: ["terraform_data.vm", "terraform_data.disk"],
            costs: #"{"terraform_data.vm": 3, "terraform_data.disk": 1}"#
        ))
        #expect(costs.perResource == ["terraform_data.vm[0]": 3, "terraform_data.vm[1]": 3, #"terraform_data.disk["a"]"#: 1, #"terraform_data.disk["b"]"#: 1])
        #expect(costs.total == 8)
    }

    @Test func aKeyWithoutAnIndexMayNameADeclaredResourceWithNoInstance() throws {
        // `{ "terraform_data.vm" = 3 }` with count = 0 on a stop: free, not an error.
        let costs = try DailyCosts.fromPlan(Self.plan(resources: [], declared: ["terraform_data.vm"], costs: #"{"terraform_data.vm": 3}"#))
        #expect(costs.total == 0)
        #expect(costs.perResource.isEmpty)
        // Declared nowhere: a typo.
        #expect(try Self.problem(resources: [], declared: ["terraform_data.vm"], costs: #"{"terraform_data.vn": 3}"#)?.contains("names no resource") == true)
    }

    @Test func anInstanceCostedTwiceIsAmbiguous() throws {
        let message = try #require(try Self.problem(
            resources: ["terraform_data.vm[0]", "terraform_data.vm[1]"],
            costs: #"{"terraform_data.vm": 3, "terraform_data.vm[0]": 5}"#
        ))
        #expect(message.contains("both give a cost for terraform_data.vm[0]"))
    }

    @Test func anOutputThatIsNotAMapIsRefused() throws {
        for value in ["[1, 2]", "3", #""terraform_data.a""#, "true"] {
            let message = try #require(try Self.problem(resources: ["terraform_data.a"], costs: value), "value \(value)")
            #expect(message.contains("must be a map"), "value \(value): \(message)")
        }
    }

    @Test func everyProblemIsListedInOneMessage() throws {
        let message = try #require(try Self.problem(
            resources: ["terraform_data.a", "terraform_data.b"],
            costs: #"{"terraform_data.a": -1, "terraform_data.b": 0.5, "terraform_data.c": 1}"#
        ))
        #expect(message.contains(#""terraform_data.a" is negative"#))
        #expect(message.contains(#""terraform_data.b" is 0.5"#))
        #expect(message.contains(#""terraform_data.c" names no resource"#))
        // Hundreds of problems: the first 20, then a count.
        let many = (0..<300).map { #""terraform_data.x\#($0)": 1"# }.joined(separator: ",")
        let long = try #require(try Self.problem(resources: [], costs: "{\(many)}"))
        #expect(long.contains("and 280 more"))
        #expect(long.split(separator: "\n").count == 22)
    }

    @Test func theLargestTotalFits() throws {
        let resources = (0..<1000).map { "terraform_data.r[\($0)]" }
        let costs = try DailyCosts.fromPlan(Self.plan(resources: resources, declared: ["terraform_data.r"], costs: #"{"terraform_data.r": 2147483647}"#))
        #expect(costs.total == 1000 * Int64(Int32.max))
        #expect(costs.perResource.count == 1000)
    }

    @Test func theResourceOfAnInstanceAddress() {
        #expect(DailyCosts.resourceAddress(of: "terraform_data.ws[0]") == "terraform_data.ws")
        #expect(DailyCosts.resourceAddress(of: "terraform_data.ws[12]") == "terraform_data.ws")
        #expect(DailyCosts.resourceAddress(of: #"terraform_data.ws["a"]"#) == "terraform_data.ws")
        #expect(DailyCosts.resourceAddress(of: #"terraform_data.ws["a]b[\"c"]"#) == "terraform_data.ws")
        #expect(DailyCosts.resourceAddress(of: #"module.m["k"].terraform_data.ws[1]"#) == #"module.m["k"].terraform_data.ws"#)
        #expect(DailyCosts.resourceAddress(of: "module.m[0].terraform_data.ws") == "module.m[0].terraform_data.ws")
        #expect(DailyCosts.resourceAddress(of: "terraform_data.ws") == "terraform_data.ws")
        #expect(DailyCosts.resourceAddress(of: "terraform_data.ws[x]") == "terraform_data.ws[x]")
        #expect(DailyCosts.resourceAddress(of: "terraform_data.ws[]") == "terraform_data.ws[]")
        #expect(DailyCosts.resourceAddress(of: "]") == "]")
        #expect(DailyCosts.resourceAddress(of: "") == "")
    }
}

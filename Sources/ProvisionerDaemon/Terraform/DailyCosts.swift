import Foundation
import ProvisionerProtocol
import WireFormat

/// The cost convention for Terraform templates, which needs no provider: an output named
/// `coder_daily_costs` mapping resource addresses to what each costs a day, a whole number of
/// credits.
///
/// ```hcl
/// output "coder_daily_costs" {
///   value = { for i, w in terraform_data.workspace : "terraform_data.workspace[${i}]" => 1 }
/// }
/// ```
///
/// Read from the plan (`terraform show -json <planfile>`), because the quota is committed between
/// plan and apply: nothing is applied for a start the owner cannot afford.
///
/// - No such output: every resource costs 0. A destroy plan has no outputs at all.
/// - The output must be known at plan time (keys and values); built from resource attributes
///   that only apply computes (`r.id => 3`, `=> r.output`), it is refused with a message saying so.
/// - Each value is a whole number from 0 to 2³¹−1 (Coder's range); anything else is refused,
///   naming the key.
/// - Each key is a resource instance's address as the plan writes it (`terraform_data.ws[0]`,
///   `terraform_data.ws["a"]`, `module.m.terraform_data.x`), and must name an instance that exists
///   once the plan is applied — a typo would otherwise make a resource free without anyone
///   noticing.
/// - A key may also leave out the instance key (`terraform_data.vm` for a resource with `count`
///   or `for_each`): then every planned instance of it costs that much. Such a key may name a
///   declared resource with no instance at all (`count = 0` on a stop), so that a constant map
///   (`{ "terraform_data.vm" = 3 }`) works for every transition; it then costs nothing. A key
///   that names neither an instance nor a declared resource is refused. Giving one instance a
///   cost both ways (`terraform_data.vm` and `terraform_data.vm[0]`) is refused as ambiguous.
public enum DailyCosts {
    public static let outputName = "coder_daily_costs"

    public struct Costs: Sendable, Equatable {
        /// Planned instance address → its daily cost; instances not listed cost 0.
        public var perResource: [String: Int64]
        /// The sum (1000 resources of 2³¹−1 each fit easily in Int64; the sum is checked anyway).
        public var total: Int64

        public init(perResource: [String: Int64] = [:], total: Int64 = 0) {
            self.perResource = perResource
            self.total = total
        }

        public func cost(of address: String) -> Int64 { perResource[address] ?? 0 }
    }

    /// Problems listed in one message, at most this many (the rest are counted).
    static let maxListedProblems = 20

    public static func fromPlan(_ plan: TerraformShow.Plan) throws(DailyCostsError) -> Costs {
        guard let output = plan.outputs[outputName] else { return Costs() }
        guard let value = output.value else {
            throw DailyCostsError(
                "the output \(outputName) is only known after apply; its keys and values must be known at plan time " +
                "(build it from count, for_each, variables and constants, not from attributes a resource gets when it is created)"
            )
        }
        let members: [String: JSONValue]
        switch value {
        case .null: return Costs()
        case .object(let object): members = object
        default:
            throw DailyCostsError("the output \(outputName) must be a map from resource addresses to whole numbers, not \(kind(of: value))")
        }

        let planned = Set(plan.resources.map(\.address))
        var instancesOf: [String: [String]] = [:]
        for resource in plan.resources {
            instancesOf[resourceAddress(of: resource.address), default: []].append(resource.address)
        }
        let declared = Set(plan.declaredResources)

        var problems: [String] = []
        var perResource: [String: Int64] = [:]
        // Which key set each instance's cost, to catch one instance costed twice.
        var setBy: [String: String] = [:]
        for key in members.keys.sorted() {
            guard let raw = members[key] else { continue }
            let cost: Int64
            switch validCost(raw) {
            case .success(let valid): cost = valid
            case .failure(let problem):
                problems.append("\(quoted(key)) \(problem.reason)")
                continue
            }
            let targets: [String]
            if planned.contains(key) {
                targets = [key]
            } else if resourceAddress(of: key) == key, let instances = instancesOf[key] {
                targets = instances
            } else if resourceAddress(of: key) == key, declared.contains(key) {
                // Declared, no instance planned (count = 0): costs nothing.
                targets = []
            } else {
                problems.append("\(quoted(key)) names no resource this plan creates or keeps\(suggestion(for: key, planned: plan.resources.map(\.address)))")
                continue
            }
            for target in targets {
                if let earlier = setBy[target] {
                    problems.append("\(quoted(key)) and \(quoted(earlier)) both give a cost for \(target)")
                    continue
                }
                setBy[target] = key
                perResource[target] = cost
            }
        }
        guard problems.isEmpty else {
            var listed = problems.prefix(maxListedProblems).map { "- \($0)" }
            if problems.count > maxListedProblems { listed.append("- and \(problems.count - maxListedProblems) more") }
            throw DailyCostsError("the output \(outputName) is not valid:\n" + listed.joined(separator: "\n"))
        }
        var total: Int64 = 0
        for cost in perResource.values {
            let (sum, overflow) = total.addingReportingOverflow(cost)
            guard !overflow else { throw DailyCostsError("the daily costs in \(outputName) add up to more than this daemon can count") }
            total = sum
        }
        return Costs(perResource: perResource, total: total)
    }

    struct Problem: Error {
        let reason: String
    }

    /// A cost is a whole number in `ProvisionerLimits.dailyCostRange`. A JSON number written
    /// with a fraction of zero (`3.0`) is the number 3 and is accepted.
    static func validCost(_ value: JSONValue) -> Result<Int64, Problem> {
        let range = ProvisionerLimits.dailyCostRange
        switch value {
        case .int(let number):
            if number < range.lowerBound { return .failure(Problem(reason: "is negative (\(number)); a daily cost is 0 or more")) }
            if number > range.upperBound { return .failure(Problem(reason: "is \(number), above the largest daily cost \(range.upperBound)")) }
            return .success(number)
        case .double(let number):
            if number < Double(range.lowerBound) { return .failure(Problem(reason: "is negative (\(number)); a daily cost is 0 or more")) }
            if number != number.rounded() { return .failure(Problem(reason: "is \(number), not a whole number")) }
            if number > Double(range.upperBound) { return .failure(Problem(reason: "is \(number), above the largest daily cost \(range.upperBound)")) }
            // Whole and within 0...2³¹−1: the conversion cannot trap.
            return .success(Int64(number))
        default:
            return .failure(Problem(reason: "is \(kind(of: value)), not a whole number"))
        }
    }

    /// The resource an instance address belongs to: the address without its last instance key
    /// (`terraform_data.ws[0]` → `terraform_data.ws`, `a.b["k"]` → `a.b`); an address without one
    /// is returned as it is. A string key is quoted with `"` escaped, so the last `["` in an
    /// address that ends in `"]` is where its key starts.
    static func resourceAddress(of address: String) -> String {
        guard address.hasSuffix("]") else { return address }
        if address.hasSuffix("\"]"), let open = address.range(of: "[\"", options: .backwards) {
            return String(address[..<open.lowerBound])
        }
        guard let open = address.lastIndex(of: "[") else { return address }
        let key = address[address.index(after: open)..<address.index(before: address.endIndex)]
        guard !key.isEmpty, key.allSatisfy({ ("0"..."9").contains($0) }) else { return address }
        return String(address[..<open])
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "a boolean (\(flag))"
        case .int, .double: "a number"
        case .string(let text): "a string (\(quoted(String(text.prefix(64)))))"
        case .array: "a list"
        case .object: "a map"
        }
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A hint for a key that names nothing: the planned addresses, or that there are none.
    static func suggestion(for key: String, planned: [String]) -> String {
        guard !planned.isEmpty else { return " (the plan has no managed resources)" }
        let shown = planned.prefix(5).joined(separator: ", ")
        return " (planned: \(shown)\(planned.count > 5 ? ", …" : ""))"
    }
}

/// `coder_daily_costs` broke the convention; the message is meant for the template's author.
public struct DailyCostsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

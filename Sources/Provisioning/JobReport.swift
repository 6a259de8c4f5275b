import Foundation
import WireFormat
import ProvisionerProtocol
import Store

/// Checks what a daemon reports at the end of a job before any of it is stored: costs in range,
/// a bounded number of resources, a state that decodes and fits. Pure, so every hostile value
/// is unit-tested without a database.
public enum JobReport {
    public enum Verdict: Sendable, Equatable {
        case valid(resources: [JobResource], state: [UInt8]?)
        case invalid(String)
    }

    public static let maxErrorBytes = 64 << 10
    public static let maxNameBytes = 256
    /// A Terraform address adds modules and an index (or a for_each key) to the name.
    public static let maxAddressBytes = 1024

    public static func validate(_ result: JobResult) -> Verdict {
        guard result.resources.count <= ProvisionerLimits.maxResources else {
            return .invalid("\(result.resources.count) resources; at most \(ProvisionerLimits.maxResources) are accepted")
        }
        for resource in result.resources {
            guard ProvisionerLimits.dailyCostRange.contains(resource.dailyCost) else {
                return .invalid("resource \"\(resource.name.prefix(64))\" has daily_cost \(resource.dailyCost); it must be between \(ProvisionerLimits.dailyCostRange.lowerBound) and \(ProvisionerLimits.dailyCostRange.upperBound)")
            }
            guard resource.name.utf8.count <= maxNameBytes, resource.type.utf8.count <= maxNameBytes,
                  !NULCharacter.isIn(resource.name), !NULCharacter.isIn(resource.type) else {
                return .invalid("a resource's name and type must be at most \(maxNameBytes) bytes, without NUL")
            }
            if let address = resource.address, address.utf8.count > maxAddressBytes || NULCharacter.isIn(address) {
                return .invalid("a resource's address must be at most \(maxAddressBytes) bytes, without NUL")
            }
        }
        if let problem = problem(with: result.variables ?? []) { return .invalid(problem) }
        let resources = result.resources
        guard let encoded = result.state else { return .valid(resources: resources, state: nil) }
        guard let state = Data(base64Encoded: encoded) else { return .invalid("state is not base64") }
        guard state.count <= ProvisionerLimits.maxStateBytes else {
            return .invalid("state is \(state.count) bytes; at most \(ProvisionerLimits.maxStateBytes) are accepted")
        }
        return .valid(resources: resources, state: Array(state))
    }

    /// What is wrong with an import's variable declarations, if anything: too many, a name
    /// Terraform would not take or given twice, text past its limit or holding NUL.
    static func problem(with variables: [TemplateVariable]) -> String? {
        guard variables.count <= ProvisionerLimits.maxVariables else {
            return "\(variables.count) variables; at most \(ProvisionerLimits.maxVariables) are accepted"
        }
        var names: Set<String> = []
        for variable in variables {
            guard ProvisionerLimits.isVariableName(variable.name), names.insert(variable.name).inserted else {
                return "variable names must be unique identifiers of at most \(ProvisionerLimits.maxVariableNameBytes) bytes"
            }
            let texts = [variable.description, variable.defaultValue]
            guard texts.allSatisfy({ $0.utf8.count <= ProvisionerLimits.maxVariableTextBytes && !NULCharacter.isIn($0) }),
                  variable.type.utf8.count <= ProvisionerLimits.maxVariableTypeBytes, !NULCharacter.isIn(variable.type) else {
                return "variable \"\(variable.name)\": its description and default must be at most \(ProvisionerLimits.maxVariableTextBytes) bytes and its type \(ProvisionerLimits.maxVariableTypeBytes), without NUL"
            }
        }
        return nil
    }

    /// A failed job's state, if it is one we can keep.
    public static func state(_ encoded: String?) -> [UInt8]? {
        guard let encoded, let state = Data(base64Encoded: encoded), state.count <= ProvisionerLimits.maxStateBytes else { return nil }
        return Array(state)
    }

    /// A failed job's error as stored: bounded, without NUL.
    public static func errorText(_ error: String) -> String {
        var text = NULCharacter.replaced(in: error)
        if text.utf8.count > maxErrorBytes {
            text = String(decoding: text.utf8.prefix(maxErrorBytes), as: UTF8.self) + "…"
        }
        return text
    }
}

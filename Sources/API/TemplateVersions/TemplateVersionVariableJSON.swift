import Foundation
import Store

/// Coder's `codersdk.TemplateVersionVariable`. A sensitive variable's value and default are
/// never returned (Coder's `*redacted*`); the `coder_workspace_*` variables, which the
/// provisioner sets for each build, are not template variables and never stored.
struct TemplateVersionVariableJSON: Encodable {
    static let redacted = "*redacted*"

    let name: String
    let description: String
    let type: String
    let value: String
    let default_value: String
    let required: Bool
    let sensitive: Bool

    init(_ variable: TemplateVersionVariable) {
        name = variable.name
        description = variable.description
        type = variable.type
        value = variable.sensitive ? Self.redacted : variable.value
        default_value = variable.sensitive ? Self.redacted : variable.defaultValue
        required = variable.required
        sensitive = variable.sensitive
    }
}

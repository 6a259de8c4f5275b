import Foundation
import Hummingbird
import ProvisionerProtocol
import WireFormat
import Provisioning

extension TemplateVersionsController {
    /// `POST /organizations/{organization}/templateversions`: an import of an uploaded archive.
    struct CreateVersionRequest: Decodable {
        let name: String?
        let templateID: UUID?
        let fileID: UUID
        let provisioner: String
        let tags: [String: String]
        /// Coder's `user_variable_values`: values for the template's variables, checked by the
        /// import (a required one without a value fails it; one the template does not declare is
        /// dropped).
        let variableValues: [VariableValue]

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            name = fields.optional("name")
            templateID = fields.optional("template_id")
            _ = fields.oneOf("storage_method", ["file"])
            fileID = fields.required("file_id")
            provisioner = fields.oneOf("provisioner", ProvisionerDaemonsController.knownProvisioners)
            tags = fields.optional("tags") ?? [:]
            let given: [GivenValue] = fields.optional("user_variable_values") ?? []
            variableValues = given.map { VariableValue(name: $0.name, value: $0.value) }
            try fields.check()
            try Self.check(variableValues)
            do {
                try ProvisionerTagList.check(tags)
            } catch {
                throw APIError.validationFailed([.init(field: "tags", detail: error.description)])
            }
        }

        struct GivenValue: Decodable {
            let name: String
            let value: String
        }

        /// What a daemon can carry and Terraform can take: a bounded list of unique variable
        /// names, none of the `coder_workspace_*` the daemon sets itself, values within bounds.
        static func check(_ values: [VariableValue]) throws {
            guard values.count <= ProvisionerLimits.maxVariables else {
                throw APIError.validationFailed([.init(field: "user_variable_values", detail: "at most \(ProvisionerLimits.maxVariables) values")])
            }
            var names: Set<String> = []
            for (index, value) in values.enumerated() {
                let field = "user_variable_values[\(index)]"
                guard ProvisionerLimits.isVariableName(value.name) else {
                    throw APIError.validationFailed([.init(field: field + ".name", detail: "a variable name: a letter or underscore, then letters, digits, underscores or dashes, at most \(ProvisionerLimits.maxVariableNameBytes) bytes")])
                }
                guard !value.name.hasPrefix("coder_workspace_") else {
                    throw APIError.validationFailed([.init(field: field + ".name", detail: "coder_workspace_* variables are set by the provisioner for each build")])
                }
                guard names.insert(value.name).inserted else {
                    throw APIError.validationFailed([.init(field: field + ".name", detail: "\"\(value.name)\" is given more than once")])
                }
                guard value.value.utf8.count <= ProvisionerLimits.maxVariableValueBytes else {
                    throw APIError.validationFailed([.init(field: field + ".value", detail: "at most \(ProvisionerLimits.maxVariableValueBytes) bytes")])
                }
            }
        }
    }
}

extension TemplateVersionsController {
    /// The import job's `input`: the values given with the version, until the import reports what
    /// the template declares (`TemplateVersionVariables.insert` reads them from here). "{}"
    /// without any, as before there were variables.
    static func jobInput(_ values: [VariableValue]) -> String {
        guard !values.isEmpty else { return "{}" }
        struct Input: Encodable { let user_variable_values: [VariableValue] }
        return (try? WireJSON.encodeString(Input(user_variable_values: values))) ?? "{}"
    }
}

import Foundation
import Hummingbird
import ProvisionerProtocol
import Provisioning

extension TemplateVersionsController {
    /// `POST /organizations/{organization}/templateversions`: an import of an uploaded archive.
    struct CreateVersionRequest: Decodable {
        let name: String?
        let templateID: UUID?
        let fileID: UUID
        let provisioner: String
        let tags: [String: String]

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            name = fields.optional("name")
            templateID = fields.optional("template_id")
            _ = fields.oneOf("storage_method", ["file"])
            fileID = fields.required("file_id")
            provisioner = fields.oneOf("provisioner", ProvisionerDaemonsController.knownProvisioners)
            tags = fields.optional("tags") ?? [:]
            try fields.check()
            do {
                try ProvisionerTagList.check(tags)
            } catch {
                throw APIError.validationFailed([.init(field: "tags", detail: error.description)])
            }
        }
    }
}

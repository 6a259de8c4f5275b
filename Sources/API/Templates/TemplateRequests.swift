import Foundation
import Hummingbird

extension TemplatesController {
    /// `POST /organizations/{organization}/templates`.
    struct CreateTemplateRequest: Decodable {
        let name: String
        let displayName: String
        let description: String
        let versionID: UUID
        /// Coder's: the new template's ACL does not give its organization's Everyone `use`.
        let disableEveryoneGroupAccess: Bool

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            name = fields.username("name")
            displayName = fields.optional("display_name") ?? ""
            description = fields.optional("description") ?? ""
            versionID = fields.required("template_version_id")
            disableEveryoneGroupAccess = fields.optional("disable_everyone_group_access") ?? false
            try fields.check()
        }
    }
}

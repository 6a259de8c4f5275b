import Foundation
import Hummingbird
import Store

extension TemplatesController {
    /// A template as Coder's `codersdk.Template` shapes it (the fields this API keeps).
    struct TemplateJSON: ResponseEncodable {
        let id: UUID
        let created_at: Date
        let updated_at: Date
        let organization_id: UUID
        let name: String
        let display_name: String
        let description: String
        let provisioner: String
        let active_version_id: UUID
        let created_by_id: UUID

        init(_ template: Template) {
            id = template.id
            created_at = template.createdAt
            updated_at = template.updatedAt
            organization_id = template.organizationID
            name = template.name
            display_name = template.displayName
            description = template.description
            provisioner = template.provisioner
            active_version_id = template.activeVersionID
            created_by_id = template.createdBy
        }
    }

    /// What the audit log shows of a template: the template as the API writes it and its ACL.
    struct AuditedTemplate: Encodable {
        let template: TemplateJSON
        let acl: TemplateACLController.AuditedACL

        init(_ template: Template) {
            self.template = TemplateJSON(template)
            acl = TemplateACLController.AuditedACL(template)
        }

        func encode(to encoder: any Encoder) throws {
            try template.encode(to: encoder)
            try acl.encode(to: encoder)
        }
    }
}

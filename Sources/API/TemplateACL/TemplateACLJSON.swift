import Foundation
import Hummingbird
import Store

extension TemplateACLController {
    /// A user of the template's ACL: the user's JSON with their `role`.
    struct TemplateUserJSON: ResponseEncodable {
        let user: UserJSON
        let role: TemplateRole

        func encode(to encoder: any Encoder) throws {
            try user.encode(to: encoder)
            var container = encoder.container(keyedBy: RoleKey.self)
            try container.encode(role, forKey: .role)
        }
    }

    /// A group of the template's ACL: the group's JSON with its `role`.
    struct TemplateGroupJSON: ResponseEncodable {
        let group: GroupsController.GroupJSON
        let role: TemplateRole

        func encode(to encoder: any Encoder) throws {
            try group.encode(to: encoder)
            var container = encoder.container(keyedBy: RoleKey.self)
            try container.encode(role, forKey: .role)
        }
    }

    enum RoleKey: String, CodingKey { case role }

    /// What the audit log shows of a template's ACL.
    struct AuditedACL: Encodable {
        let user_acl: [String: String]
        let group_acl: [String: String]
        init(_ template: Template) {
            user_acl = Dictionary(uniqueKeysWithValues: template.userACL.map { ($0.key.uuidString.lowercased(), $0.value.rawValue) })
            group_acl = Dictionary(uniqueKeysWithValues: template.groupACL.map { ($0.key.uuidString.lowercased(), $0.value.rawValue) })
        }
    }
}

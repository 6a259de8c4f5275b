import Foundation

extension TemplateACLController {
    struct UpdateACLRequest: Decodable {
        let userPerms: [String: String]
        let groupPerms: [String: String]

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            userPerms = fields.optional("user_perms") ?? [:]
            groupPerms = fields.optional("group_perms") ?? [:]
            try fields.check()
        }
    }

    /// Entries one PATCH may change: it is one transaction and one validation pass.
    static let maximumEntries = 10_000
}

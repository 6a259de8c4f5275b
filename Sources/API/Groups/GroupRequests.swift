import Foundation
import Store

extension GroupsController {
    struct CreateGroupRequest: Decodable {
        let name: String
        let displayName: String
        let avatarURL: String
        let quotaAllowance: Int32

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            name = fields.required("name")
            displayName = fields.optional("display_name") ?? ""
            avatarURL = fields.optional("avatar_url") ?? ""
            quotaAllowance = fields.optional("quota_allowance") ?? 0
            try fields.check()
        }
    }

    struct PatchGroupRequest: Decodable {
        let addUsers: [String]
        let removeUsers: [String]
        let name: String?
        let displayName: String?
        let avatarURL: String?
        let quotaAllowance: Int32?

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            addUsers = fields.optional("add_users") ?? []
            removeUsers = fields.optional("remove_users") ?? []
            name = fields.optional("name")
            displayName = fields.optional("display_name")
            avatarURL = fields.optional("avatar_url")
            quotaAllowance = fields.optional("quota_allowance")
            try fields.check()
        }

        /// The change this request asks of `group`, checked: Everyone keeps its name, display name
        /// and members; a rename is a valid name and not Everyone's; member changes are bounded,
        /// user ids, and each user is named once. `name` is nil when the group keeps its own.
        func change(to group: Group) throws -> GroupChange {
            // Coder's clients send `"name": ""` when they do not rename (the SDK's field has no omitempty).
            let rename = name.flatMap { $0.isEmpty || $0 == group.name ? nil : $0 }
            if group.isEveryone {
                if rename != nil { throw APIError(.badRequest, "Cannot rename the \"Everyone\" group!") }
                if let displayName, !displayName.isEmpty {
                    throw APIError(.badRequest, "Cannot update the Display Name for the \"Everyone\" group!")
                }
                if !addUsers.isEmpty || !removeUsers.isEmpty {
                    throw APIError(.forbidden, "Cannot add or remove users from the \"Everyone\" group!")
                }
            }
            if let rename {
                if rename == Group.everyoneName { throw APIError(.badRequest, "\"Everyone\" is a reserved group name!") }
                try GroupsController.check(name: rename)
            }
            if let displayName { try GroupsController.check(displayName: displayName) }
            if let avatarURL { try GroupsController.checkAvatar(avatarURL) }
            guard addUsers.count + removeUsers.count <= GroupsController.maximumMemberChanges else {
                throw APIError(.badRequest, "Too many member changes.", detail: "At most \(GroupsController.maximumMemberChanges) users may be added or removed at once.")
            }
            let add = try GroupsController.userIDs(addUsers), remove = try GroupsController.userIDs(removeUsers)
            if let twice = GroupsController.firstRepeated(add + remove) {
                throw APIError(.badRequest, "Cannot add the same user to a group twice!", detail: "User \"\(twice.uuidString.lowercased())\" is named more than once.")
            }
            return GroupChange(
                name: rename, displayName: displayName, avatarURL: avatarURL, quotaAllowance: quotaAllowance,
                addUsers: add, removeUsers: remove
            )
        }
    }

    /// Users one PATCH may add or remove: the request is one transaction.
    static let maximumMemberChanges = 10_000

    /// The one group-name rule (`GroupNames`) with Coder's syntax for the API's `name`: letters,
    /// digits and single hyphens, at most 255 characters, no reserved name or look-alike of one.
    static func check(name: String) throws {
        if let problem = GroupNames.problem(name, source: .api) {
            throw APIError(.badRequest, "Invalid group name.", validations: [.init(field: "name", detail: problem)])
        }
    }

    /// A display name is shown where the name is: no look-alike of a reserved name there either.
    static func check(displayName: String) throws {
        if let problem = GroupNames.displayNameProblem(displayName.precomposedStringWithCanonicalMapping) {
            throw APIError(.badRequest, "Invalid group display name.", validations: [.init(field: "display_name", detail: problem)])
        }
    }

    static func checkAvatar(_ url: String) throws {
        guard url.utf8.count <= 2048 else {
            throw APIError(.badRequest, "Invalid avatar URL.", detail: "At most 2048 bytes.")
        }
    }

    /// `add_users` and `remove_users` as user ids.
    static func userIDs(_ raw: [String]) throws -> [UUID] {
        try raw.map { text in
            guard let id = UUID(uuidString: text) else { throw APIError(.badRequest, "ID \"\(text)\" must be a valid user UUID.") }
            return id
        }
    }

    static func firstRepeated(_ ids: [UUID]) -> UUID? {
        var seen = Set<UUID>()
        return ids.first { !seen.insert($0).inserted }
    }
}

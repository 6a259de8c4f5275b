import Foundation
import Hummingbird
import Store
import WireFormat

/// Groups of an organization (Coder's `/groups…`), behind the `template_rbac` feature, in the
/// seed's shape. Everyone (id = organization id) holds every member of its organization, is
/// listed with them, and keeps its name and members.
struct GroupsController: ResourceController {
    let store: Store
    let audit: AuditRecorder

    struct GroupJSON: ResponseEncodable {
        let id: UUID
        let name: String
        let display_name: String
        let organization_id: UUID
        let avatar_url: String
        let quota_allowance: Int32
        let source: String
        let members: [UserJSON]
        let total_member_count: Int

        init(_ value: GroupWithMembers) {
            id = value.group.id
            name = value.group.name
            display_name = value.group.displayName
            organization_id = value.group.organizationID
            avatar_url = value.group.avatarURL
            quota_allowance = value.group.quotaAllowance
            source = value.group.source
            members = value.members.map(UserJSON.init)
            total_member_count = value.members.count
        }
    }

    /// A group's fields but its members, for lists that splice in each member's JSON.
    struct GroupHeadJSON: Encodable {
        let id: UUID
        let name: String
        let display_name: String
        let organization_id: UUID
        let avatar_url: String
        let quota_allowance: Int32
        let source: String
        let total_member_count: Int
    }

    /// A list of groups in the seed's shape, each member encoded once however many groups
    /// hold them (100 groups of the same 1,000 users encode 1,000 users, not 100,000).
    static func listResponse(_ directory: GroupDirectory) throws -> Response {
        var users: [UUID: [UInt8]] = [:]
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, listing) in directory.groups.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            let group = listing.group
            let members = listing.memberIDs.filter { directory.users[$0] != nil }
            var head = try WireJSON.encode(GroupHeadJSON(
                id: group.id, name: group.name, display_name: group.displayName, organization_id: group.organizationID,
                avatar_url: group.avatarURL, quota_allowance: group.quotaAllowance, source: group.source,
                total_member_count: members.count
            ))
            head.removeLast()  // the closing brace: the members follow
            out += head
            out += Array(#","members":["#.utf8)
            for (position, id) in members.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                if let encoded = users[id] {
                    out += encoded
                } else if let user = directory.users[id] {
                    let encoded = try WireJSON.encode(UserJSON(user))
                    users[id] = encoded
                    out += encoded
                }
            }
            out += Array("]}".utf8)
        }
        out.append(UInt8(ascii: "]"))
        return JSON.bytes(ByteBuffer(bytes: out))
    }

    /// What the audit log shows of a group: its fields and member ids.
    struct AuditedGroup: Encodable {
        let group: Group
        let members: [UUID]
        init(_ value: GroupWithMembers) {
            group = value.group
            members = value.members.map(\.id)
        }
        func encode(to encoder: any Encoder) throws {
            try group.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(members, forKey: Key(stringValue: "members"))
        }
        struct Key: CodingKey {
            var stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
    }

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
    }

    /// Users one PATCH may add or remove: the request is one transaction.
    static let maximumMemberChanges = 10_000

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: guards.authentication)
        routes.add(middleware: guards.feature(.templateRBAC))
        routes.post("organizations/:organization/groups", use: create)
        routes.get("organizations/:organization/groups") { _, context in
            let organization = try await context.organizationParameter(store)
            try context.authorize(.read, .groups(organization: organization.id))
            return try Self.listResponse(try await store.groups(GroupFilter(organizationID: organization.id)))
        }
        routes.get("organizations/:organization/groups/:groupName") { _, context in
            let organization = try await context.organizationParameter(store)
            try context.authorize(.read, .groups(organization: organization.id))
            guard let group = try await store.group(named: context.parameters.get("groupName") ?? "", organizationID: organization.id) else {
                throw APIError.resourceNotFound
            }
            return GroupJSON(try await store.groupWithMembers(group))
        }
        routes.get("groups", use: list)
        routes.get("groups/:group") { _, context in
            GroupJSON(try await store.groupWithMembers(try await context.load(try group(context), for: .read)))
        }
        routes.patch("groups/:group", use: patch)
        routes.delete("groups/:group", use: delete)
        return routes
    }

    @Sendable func create(_ request: Request, _ context: AppRequestContext) async throws -> Created<GroupJSON> {
        let organization = try await context.organizationParameter(store)
        try context.authorize(.create, .groups(organization: organization.id))
        let body = try await request.decode(as: CreateGroupRequest.self, context: context)
        try Self.check(name: body.name)
        try Self.check(displayName: body.displayName)
        try Self.checkAvatar(body.avatarURL)
        let audit = self.audit.deferred(request, context)
        do {
            let group = try await store.createGroup(NewGroup(
                name: body.name, displayName: body.displayName, organizationID: organization.id,
                avatarURL: body.avatarURL, quotaAllowance: body.quotaAllowance
            )) { group in
                try audit(.group, group.id, group.name, .create, nil, AuditedGroup(GroupWithMembers(group: group, members: [])), organization.id, .created)
            }
            return Created(GroupJSON(GroupWithMembers(group: group, members: [])))
        } catch StoreError.conflict {
            throw Self.nameTaken(body.name)
        }
    }

    /// `GET /groups?organization=&has_member=`: each filter optional; without `organization`,
    /// every group the caller may read.
    @Sendable func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        var filter = GroupFilter()
        var validations: [APIError.Validation] = []
        let query = request.uri.queryParameters
        if let raw = query["organization"].map(String.init), !raw.isEmpty {
            let organization = if let id = UUID(uuidString: raw) { try await store.organization(id: id) } else { try await store.organization(name: raw) }
            if let organization, RBAC.can(subject, .read, .groups(organization: organization.id)) {
                filter.organizationID = organization.id
            } else {
                validations.append(.init(field: "organization", detail: "organization \"\(raw)\" not found"))
            }
        }
        if let raw = query["has_member"].map(String.init), !raw.isEmpty {
            let user = if let id = UUID(uuidString: raw) { try await store.user(id: id) } else { try await store.user(username: raw) }
            if let user { filter.hasMember = user.id } else { validations.append(.init(field: "has_member", detail: "user \"\(raw)\" not found")) }
        }
        guard validations.isEmpty else { throw APIError(.badRequest, "Query parameters have invalid values.", validations: validations) }
        if filter.organizationID == nil, !RBAC.can(subject, .read, .groups(organization: UUID())) {
            filter.organizationIDs = Array(subject.organizations.keys)
        }
        return try Self.listResponse(try await store.groups(filter))
    }

    @Sendable func patch(_ request: Request, _ context: AppRequestContext) async throws -> GroupJSON {
        let group = try await context.load(try group(context), for: .update)
        let body = try await request.decode(as: PatchGroupRequest.self, context: context)
        // Coder's clients send `"name": ""` when they do not rename (the SDK's field has no omitempty).
        let rename = body.name.flatMap { $0.isEmpty || $0 == group.name ? nil : $0 }
        if group.isEveryone {
            if rename != nil { throw APIError(.badRequest, "Cannot rename the \"Everyone\" group!") }
            if let displayName = body.displayName, !displayName.isEmpty {
                throw APIError(.badRequest, "Cannot update the Display Name for the \"Everyone\" group!")
            }
            if !body.addUsers.isEmpty || !body.removeUsers.isEmpty {
                throw APIError(.forbidden, "Cannot add or remove users from the \"Everyone\" group!")
            }
        }
        if let rename {
            if rename == Group.everyoneName { throw APIError(.badRequest, "\"Everyone\" is a reserved group name!") }
            try Self.check(name: rename)
        }
        if let displayName = body.displayName { try Self.check(displayName: displayName) }
        if let avatar = body.avatarURL { try Self.checkAvatar(avatar) }
        guard body.addUsers.count + body.removeUsers.count <= Self.maximumMemberChanges else {
            throw APIError(.badRequest, "Too many member changes.", detail: "At most \(Self.maximumMemberChanges) users may be added or removed at once.")
        }
        let add = try Self.userIDs(body.addUsers), remove = try Self.userIDs(body.removeUsers)
        if let twice = Self.firstRepeated(add + remove) {
            throw APIError(.badRequest, "Cannot add the same user to a group twice!", detail: "User \"\(twice.uuidString.lowercased())\" is named more than once.")
        }
        let organization = try await store.organization(id: group.organizationID)
        let audit = self.audit.deferred(request, context)
        do {
            let updated = try await store.changeGroup(id: group.id, GroupChange(
                name: rename, displayName: body.displayName, avatarURL: body.avatarURL, quotaAllowance: body.quotaAllowance,
                addUsers: add, removeUsers: remove
            )) { old, new in
                try audit(.group, new.group.id, new.group.name, .write, AuditedGroup(old), AuditedGroup(new), new.group.organizationID, .ok)
            }
            return GroupJSON(updated)
        } catch GroupChangeError.notOrganizationMember {
            throw APIError(.badRequest, "User must be a member of organization \"\(organization?.name ?? group.organizationID.uuidString.lowercased())\"")
        } catch GroupChangeError.alreadyMember {
            throw APIError(.badRequest, "Cannot add the same user to a group twice!")
        } catch GroupChangeError.notMember {
            throw APIError(.badRequest, "Failed to add or remove non-existent group member")
        } catch StoreError.conflict(let field) where field == "name" {
            // Coder's PATCH words it differently from its POST.
            throw APIError(.conflict, "A group with name \"\(rename ?? group.name)\" already exists.", validations: [.init(field: "name", detail: "Group names must be unique")])
        } catch StoreError.conflict {
            throw APIError(.badRequest, "Cannot add the same user to a group twice!")
        } catch StoreError.notFound {
            throw APIError.resourceNotFound
        }
    }

    /// 200 with the group as it was (the seed's shape, where Coder answers a message).
    @Sendable func delete(_ request: Request, _ context: AppRequestContext) async throws -> GroupJSON {
        let group = try await context.load(try group(context), for: .delete)
        if group.isEveryone { throw APIError(.badRequest, "\"Everyone\" is a reserved group and cannot be deleted!") }
        let audit = self.audit.deferred(request, context)
        do {
            return GroupJSON(try await store.deleteGroup(id: group.id) { deleted in
                try audit(.group, deleted.group.id, deleted.group.name, .delete, AuditedGroup(deleted), nil, deleted.group.organizationID, .ok)
            })
        } catch StoreError.notFound {
            throw APIError.resourceNotFound
        }
    }

    /// `{group}`: a group id if it is a UUID naming a group, else a name in the caller's
    /// default organization (the seed calls the parameter "Group name").
    private func group(_ context: AppRequestContext) throws -> Lookup<Group> {
        let raw = context.parameters.get("group") ?? ""
        return Lookup(
            fetch: {
                if let id = UUID(uuidString: raw), let group = try await store.group(id: id) { return group }
                guard let organization = try await store.defaultOrganization() else { return nil }
                return try await store.group(named: raw, organizationID: organization.id)
            },
            resource: { .groups(organization: $0.organizationID) }
        )
    }

    private static func nameTaken(_ name: String) -> APIError {
        APIError(.conflict, "A group named \"\(name)\" already exists.", validations: [.init(field: "name", detail: "Group names must be unique")])
    }

    /// The one group-name rule (`GroupNames`) with Coder's syntax for the API's `name`: letters,
    /// digits and single hyphens, at most 255 characters, no reserved name or look-alike of one.
    private static func check(name: String) throws {
        if let problem = GroupNames.problem(name, source: .api) {
            throw APIError(.badRequest, "Invalid group name.", validations: [.init(field: "name", detail: problem)])
        }
    }

    /// A display name is shown where the name is: no look-alike of a reserved name there either.
    private static func check(displayName: String) throws {
        if let problem = GroupNames.displayNameProblem(displayName.precomposedStringWithCanonicalMapping) {
            throw APIError(.badRequest, "Invalid group display name.", validations: [.init(field: "display_name", detail: problem)])
        }
    }

    private static func checkAvatar(_ url: String) throws {
        guard url.utf8.count <= 2048 else {
            throw APIError(.badRequest, "Invalid avatar URL.", detail: "At most 2048 bytes.")
        }
    }

    private static func userIDs(_ raw: [String]) throws -> [UUID] {
        try raw.map { text in
            guard let id = UUID(uuidString: text) else { throw APIError(.badRequest, "ID \"\(text)\" must be a valid user UUID.") }
            return id
        }
    }

    private static func firstRepeated(_ ids: [UUID]) -> UUID? {
        var seen = Set<UUID>()
        return ids.first { !seen.insert($0).inserted }
    }
}

import Foundation
import Hummingbird
import Store

/// Groups of an organization (Coder's `/groups…`), behind the `template_rbac` feature, in the
/// seed's shape. Everyone (id = organization id) holds every member of its organization, is
/// listed with them, and keeps its name and members.
struct GroupsController: ResourceController {
    let store: Store

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes, feature: .templateRBAC)
        signedIn.post("organizations/:organization/groups", use: create)
        signedIn.get("organizations/:organization/groups") { _, context in
            let organization = try await context.organizationParameter(store)
            try context.authorize(.read, .groups(organization: organization.id))
            return try Self.listResponse(try await store.groups(GroupFilter(organizationID: organization.id)))
        }
        signedIn.get("organizations/:organization/groups/:groupName") { _, context in
            let organization = try await context.organizationParameter(store)
            try context.authorize(.read, .groups(organization: organization.id))
            guard let group = try await store.group(named: context.parameters.get("groupName") ?? "", organizationID: organization.id) else {
                throw APIError.resourceNotFound
            }
            return GroupJSON(try await store.groupWithMembers(group))
        }
        signedIn.get("groups", use: list)
        signedIn.get("groups/:group") { _, context in
            GroupJSON(try await store.groupWithMembers(try await context.load(group(context), for: .read)))
        }
        signedIn.patch("groups/:group", use: patch)
        signedIn.delete("groups/:group", use: delete)
        return routes
    }

    @Sendable func create(_ request: Request, _ context: SignedInContext) async throws -> Created<GroupJSON> {
        let organization = try await context.organizationParameter(store)
        try context.authorize(.create, .groups(organization: organization.id))
        let body = try await request.decode(as: CreateGroupRequest.self, context: context)
        try Self.check(name: body.name)
        try Self.check(displayName: body.displayName)
        try Self.checkAvatar(body.avatarURL)
        let audit = context.audit
        do {
            let group = try await store.createGroup(NewGroup(
                name: body.name, displayName: body.displayName, organizationID: organization.id,
                avatarURL: body.avatarURL, quotaAllowance: body.quotaAllowance
            )) { group in
                try audit.record(
                    .group, id: group.id, target: group.name, action: .create,
                    new: AuditedGroup(GroupWithMembers(group: group, members: [])), organization: organization.id, status: .created
                )
            }
            return Created(GroupJSON(GroupWithMembers(group: group, members: [])))
        } catch StoreError.conflict {
            throw Self.nameTaken(body.name)
        }
    }

    /// `GET /groups?organization=&has_member=`: each filter optional; without `organization`,
    /// every group the caller may read.
    @Sendable func list(_ request: Request, _ context: SignedInContext) async throws -> Response {
        let filter = try await GroupListQuery(request.uri.queryParameters).filter(for: context.subject, store: store)
        return try Self.listResponse(try await store.groups(filter))
    }

    @Sendable func patch(_ request: Request, _ context: SignedInContext) async throws -> GroupJSON {
        let group = try await context.load(group(context), for: .update)
        let body = try await request.decode(as: PatchGroupRequest.self, context: context)
        let change = try body.change(to: group)
        let audit = context.audit
        do {
            let updated = try await store.changeGroup(id: group.id, change) { old, new in
                try audit.record(
                    .group, id: new.group.id, target: new.group.name, action: .write,
                    old: AuditedGroup(old), new: AuditedGroup(new), organization: new.group.organizationID, status: .ok
                )
            }
            return GroupJSON(updated)
        } catch GroupChangeError.notOrganizationMember {
            // Coder names the organization (`GroupChangeError+API` answers the other cases).
            let organization = try await store.organization(id: group.organizationID)
            throw APIError(.badRequest, "User must be a member of organization \"\(organization?.name ?? group.organizationID.uuidString.lowercased())\"")
        } catch StoreError.conflict(let field) where field == "name" {
            // Coder's PATCH words it differently from its POST.
            throw APIError(.conflict, "A group with name \"\(change.name ?? group.name)\" already exists.", validations: [.init(field: "name", detail: "Group names must be unique")])
        } catch StoreError.conflict {
            throw APIError(.badRequest, "Cannot add the same user to a group twice!")
        }
    }

    /// 200 with the group as it was (the seed's shape, where Coder answers a message).
    @Sendable func delete(_ request: Request, _ context: SignedInContext) async throws -> GroupJSON {
        let group = try await context.load(group(context), for: .delete)
        if group.isEveryone { throw APIError(.badRequest, "\"Everyone\" is a reserved group and cannot be deleted!") }
        let audit = context.audit
        return GroupJSON(try await store.deleteGroup(id: group.id) { deleted in
            try audit.record(
                .group, id: deleted.group.id, target: deleted.group.name, action: .delete,
                old: AuditedGroup(deleted), organization: deleted.group.organizationID, status: .ok
            )
        })
    }

    /// `{group}`: a group id if it is a UUID naming a group, else a name in the caller's
    /// default organization (the seed calls the parameter "Group name").
    private func group(_ context: SignedInContext) -> Lookup<Group> {
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
}

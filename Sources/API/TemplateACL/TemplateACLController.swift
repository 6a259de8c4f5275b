import Foundation
import Hummingbird
import Store

/// `GET/PATCH /api/v2/templates/{template}/acl` (the seed's array of users with their role)
/// and `GET …/acl/groups` (the groups, additive), behind `template_rbac`. Whoever may read the
/// template reads its ACL; its admins (ACL `admin`, template admins, owners) change it.
struct TemplateACLController: ResourceController {
    let store: Store
    let access: TemplateAccessChecker

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes, feature: .templateRBAC)
        signedIn.get("templates/:template/acl") { _, context in
            let template = try await load(context, for: .read)
            let users = try await store.users(ids: Array(template.userACL.keys)).sorted { $0.username < $1.username }
            return users.compactMap { user in template.userACL[user.id].map { TemplateUserJSON(user: UserJSON(user), role: $0) } }
        }
        signedIn.get("templates/:template/acl/groups") { _, context in
            let template = try await load(context, for: .read)
            let groups = try await store.groups(GroupFilter(organizationID: template.organizationID, ids: Array(template.groupACL.keys))).withMembers
            return groups.compactMap { group in
                template.groupACL[group.group.id].map { TemplateGroupJSON(group: GroupsController.GroupJSON(group), role: $0) }
            }
        }
        signedIn.patch("templates/:template/acl", use: update)
        return routes
    }

    @Sendable func update(_ request: Request, _ context: SignedInContext) async throws -> MessageJSON {
        let template = try await load(context, for: .update)
        let body = try await request.decode(as: UpdateACLRequest.self, context: context)
        guard body.userPerms.count + body.groupPerms.count <= Self.maximumEntries else {
            throw APIError(.badRequest, "Invalid request to update template metadata!", detail: "At most \(Self.maximumEntries) entries at once.")
        }
        // Every problem at once, as Coder collects them.
        var validations: [APIError.Validation] = []
        func parse(_ perms: [String: String], field: String) -> [UUID: TemplateRole?] {
            var parsed: [UUID: TemplateRole?] = [:]
            for (key, value) in perms.sorted(by: { $0.key < $1.key }) {
                let role: TemplateRole?
                if value.isEmpty {
                    role = nil
                } else if let known = TemplateRole(rawValue: value) {
                    role = known
                } else {
                    validations.append(.init(field: field, detail: "role \"\(value)\" is not a valid Template role"))
                    continue
                }
                guard let id = UUID(uuidString: key) else {
                    validations.append(.init(field: field, detail: "ID \(key)must be a valid UUID."))
                    continue
                }
                parsed[id] = .some(role)
            }
            return parsed
        }
        let users = parse(body.userPerms, field: "user_perms"), groups = parse(body.groupPerms, field: "group_perms")
        // Removing an entry needs no subject that still exists; granting does.
        let unknown = try await store.unknownACLSubjects(
            users: users.filter { $0.value != nil }.map(\.key), groups: groups.filter { $0.value != nil }.map(\.key),
            organizationID: template.organizationID
        )
        for id in unknown.users.sorted(by: { $0.uuidString < $1.uuidString }) {
            validations.append(.init(field: "user_perms", detail: "Failed to find resource with ID \"\(id.uuidString.lowercased())\": no such user"))
        }
        for id in unknown.groups.sorted(by: { $0.uuidString < $1.uuidString }) {
            validations.append(.init(field: "group_perms", detail: "Failed to find resource with ID \"\(id.uuidString.lowercased())\": no such group in the template's organization"))
        }
        guard validations.isEmpty else {
            throw APIError(.badRequest, "Invalid request to update template metadata!", validations: validations)
        }
        let audit = context.audit
        _ = try await store.updateTemplateACL(templateID: template.id, users: users, groups: groups) { old, new in
            try audit.record(
                .template, id: new.id, target: new.name, action: .write,
                old: AuditedACL(old), new: AuditedACL(new), organization: new.organizationID, status: .ok
            )
        }
        return MessageJSON(message: "Successfully updated template ACL list.")
    }

    private func load(_ context: SignedInContext, for action: Action) async throws -> Template {
        let id = try context.uuidParameter("template")
        return try await context.load(.template(id, in: store, checker: access, context: context), for: action).template
    }
}

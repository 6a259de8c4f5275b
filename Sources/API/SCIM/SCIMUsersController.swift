import Foundation
import HTTPTypes
import Hummingbird
import SCIMCore
import Store
import WireFormat

/// SCIM Users (RFC 7644 §3): the product's users of the default organization. `id` is the
/// user's UUID; a user created here is an `oidc` user without a password; DELETE suspends and
/// hides, never deletes. Filters, sorting and paging run in SQL (`Store.scimUsers`).
struct SCIMUsersController: ResourceController {
    let mountPath: String
    let base: String
    let authentication: SCIMAuthentication
    let store: Store
    let organization: SCIMOrganization
    let audit: AuditRecorder
    /// Told of every suspension, so that the user's sessions and sockets end at once on every
    /// replica, as when an admin suspends them.
    let authenticator: Authenticator

    /// Whether Users carry codersdk.User's keys too: at the seed's base path, whose PATCH the
    /// seed documents as answering a codersdk.User.
    var productKeys: Bool { mountPath.hasPrefix("api/") }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = SCIMController.guarded(authentication, guards)
        routes.get("Users", use: list)
        routes.post("Users/.search", use: search)
        routes.post("Users", use: create)
        routes.get("Users/:id", use: get)
        routes.put("Users/:id", use: replace)
        routes.patch("Users/:id", use: patch)
        routes.delete("Users/:id", use: delete)
        routes.post("Users/:id") { _, _ -> Response in throw SCIMError.methodNotAllowed }
        return routes
    }

    @Sendable func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await respond(to: SCIMListQuery(query: request.uri.queryParameters))
    }

    @Sendable func search(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await respond(to: SCIMListQuery(body: try await SCIMController.body(request)))
    }

    private func respond(to query: SCIMListQuery) async throws -> Response {
        let organizationID = try await organization.id()
        let found: (users: [SCIMUser], total: Int)
        do {
            found = try await store.scimUsers(query.request, organizationID: organizationID)
        } catch let error as SCIMQueryError {
            throw SCIMError.invalidFilter(error.message)
        }
        let resources = found.users.map { query.project(SCIMUserResource.json($0, base: base, productKeys: productKeys)) }
        return try SCIMController.document(SCIMListResponse(total: found.total, startIndex: query.request.startIndex, resources: resources))
    }

    @Sendable func get(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try await load(context)
        let tag = SCIMController.etag(user.version)
        if let noneMatch = request.headers[.ifNoneMatch], SCIMController.tags(noneMatch).contains(where: { $0 == "*" || SCIMController.version(fromETag: $0) == user.version }) {
            return Response(status: .notModified, headers: [.eTag: tag])
        }
        let query = try SCIMListQuery(projectionOnly: request.uri.queryParameters)
        return try SCIMController.resource(query.project(SCIMUserResource.json(user, base: base, productKeys: productKeys)), version: user.version)
    }

    @Sendable func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await create(body: SCIMController.body(request), request, context).response()
    }

    @Sendable func replace(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await replace(id: Self.id(context), body: SCIMController.body(request), ifVersion: SCIMController.ifMatch(request), request, context).response()
    }

    @Sendable func patch(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await patch(id: Self.id(context), body: SCIMController.body(request), ifVersion: SCIMController.ifMatch(request), request, context).response()
    }

    @Sendable func delete(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await delete(id: Self.id(context), ifVersion: SCIMController.ifMatch(request), request, context).response()
    }
}

/// The writes, apart from HTTP: the routes above and `/Bulk` operations run them.
extension SCIMUsersController: SCIMWritableResource {
    static let endpoint = "Users"

    func create(body: JSONValue, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The resource must be a JSON object.") }
        let write = try SCIMUserResource.write(object)
        let organizationID = try await organization.id()
        let result = try await SCIMController.mapped {
            try await store.scimCreateUser(write, organizationID: organizationID, usernames: SCIMUserResource.usernameCandidates(for: write), audit: auditor(request, context))
        }
        return outcome(result.user, status: result.created ? .created : .ok, location: true)
    }

    func replace(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The resource must be a JSON object.") }
        let write = try SCIMUserResource.write(object)
        return try await change(id, ifVersion, request, context) { _ in write }
    }

    func patch(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        let patch = try SCIMPatch(body: body)
        return try await change(id, ifVersion, request, context) { current in
            let patched = try patch.apply(to: SCIMUserResource.writable(current), document: SCIMUserResource.document)
            var write = try SCIMUserResource.write(patched)
            if patched["active"] == nil {
                // `remove active` suspends, as Coder does (a product user is active or not),
                // and SCIM shows `active` unassigned, as RFC 7644 says a removed attribute is.
                write.active = false
                write.attributes[SCIMUserResource.activeUnassigned] = true
            }
            return write
        }
    }

    func delete(id: UUID, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        let organizationID = try await organization.id()
        let found = try await SCIMController.mapped {
            try await store.scimDeprovisionUser(id: id, organizationID: organizationID, ifVersion: ifVersion, audit: auditor(request, context))
        }
        guard found else { throw Self.notFound(id) }
        await authenticator.userStatusChanged(id)
        return SCIMWriteOutcome(status: .noContent)
    }

    private func change(_ id: UUID, _ ifVersion: Int64?, _ request: Request, _ context: AppRequestContext, _ change: @escaping @Sendable (SCIMUser) throws -> SCIMUserWrite) async throws -> SCIMWriteOutcome {
        let organizationID = try await organization.id()
        let changed = try await SCIMController.mapped {
            try await store.scimReplaceUser(id: id, organizationID: organizationID, ifVersion: ifVersion, audit: auditor(request, context), change: change)
        }
        guard let changed else { throw Self.notFound(id) }
        if changed.user.status == .suspended { await authenticator.userStatusChanged(id) }
        return outcome(changed, status: .ok, location: false)
    }

    private func outcome(_ user: SCIMUser, status: HTTPResponse.Status, location: Bool) -> SCIMWriteOutcome {
        SCIMWriteOutcome(
            status: status, resource: SCIMUserResource.json(user, base: base, productKeys: productKeys), version: user.version,
            location: "\(base)/Users/\(user.user.id.uuidString.lowercased())", locationHeader: location
        )
    }
}

extension SCIMUsersController {
    private func load(_ context: AppRequestContext) async throws -> SCIMUser {
        let id = try Self.id(context)
        guard let user = try await store.scimUser(id: id, organizationID: try await organization.id()) else { throw Self.notFound(id) }
        return user
    }

    /// A non-UUID id names no user: 404, as for an unknown one.
    static func id(_ context: AppRequestContext) throws -> UUID {
        let raw = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw) else { throw SCIMError.notFound("No User has the id \"\(raw.prefix(64))\".") }
        return id
    }

    static func notFound(_ id: UUID) -> SCIMError {
        SCIMError.notFound("No User has the id \"\(id.uuidString.lowercased())\".")
    }

    /// The audit row of a SCIM change: no acting user, Coder's automatic actor fields.
    private func auditor(_ request: Request, _ context: AppRequestContext) -> Store.SCIMUserAudit {
        let audit = self.audit
        return { action, old, new in
            guard let subject = new ?? old else { return nil }
            let status: HTTPResponse.Status = action == .create ? .created : action == .delete ? .noContent : .ok
            return try audit.entry(
                request, context, resourceType: .user, resourceID: subject.user.id, target: subject.user.username, action: action,
                old: old.map(SCIMController.auditSnapshot), new: new.map(SCIMController.auditSnapshot),
                organizationID: subject.user.organizationIDs.first, status: status, additionalFields: SCIMController.automaticActor
            )
        }
    }
}

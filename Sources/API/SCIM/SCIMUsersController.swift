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
        addRoutes(to: routes)
        return routes
    }
}

extension SCIMUsersController: SCIMResourceType {
    static let endpoint = "Users"
    static let resourceName = "User"

    func list(_ query: SCIMListQuery) async throws -> SCIMPage {
        let organizationID = try await organization.id()
        let found = try await Self.filtering { try await store.scimUsers(query.request, organizationID: organizationID) }
        return SCIMPage(resources: found.users.map { query.project(SCIMUserResource.json($0, base: base, productKeys: productKeys)) }, total: found.total)
    }

    func read(id: UUID) async throws -> (resource: JSONValue, version: Int64)? {
        guard let user = try await store.scimUser(id: id, organizationID: try await organization.id()) else { return nil }
        return (SCIMUserResource.json(user, base: base, productKeys: productKeys), user.version)
    }

    func create(body: JSONValue, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The resource must be a JSON object.") }
        let write = try SCIMUserResource.write(object)
        let organizationID = try await organization.id()
        let result = try await SCIMController.mapped {
            try await store.scimCreateUser(write, organizationID: organizationID, usernames: SCIMUserResource.usernameCandidates(for: write), audit: auditor(request, context))
        }
        await endSessionsIfSuspended(result.user)
        return outcome(result.user, status: result.created ? .created : .ok, location: true)
    }

    func replace(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The resource must be a JSON object.") }
        let write = try SCIMUserResource.write(object)
        return try await change(id, ifVersion, request, context) { _ in write }
    }

    func patch(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        // Refused before the resource is read when it carries more values than the attribute may hold.
        let patch = try SCIMPatch(body: body, document: SCIMUserResource.document)
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
        // A deprovisioned user is suspended, whatever it was.
        await authenticator.userChanged(id)
        return SCIMWriteOutcome(status: .noContent)
    }

    private func change(_ id: UUID, _ ifVersion: Int64?, _ request: Request, _ context: AppRequestContext, _ change: @escaping @Sendable (SCIMUser) throws -> SCIMUserWrite) async throws -> SCIMWriteOutcome {
        let organizationID = try await organization.id()
        let changed = try await SCIMController.mapped {
            try await store.scimReplaceUser(id: id, organizationID: organizationID, ifVersion: ifVersion, audit: auditor(request, context), change: change)
        }
        guard let changed else { throw Self.notFound(id) }
        await endSessionsIfSuspended(changed)
        return outcome(changed, status: .ok, location: false)
    }

    /// Every SCIM write that leaves a user suspended (a create that links an existing user with
    /// `active: false`, a PUT, a PATCH) ends their sessions and sockets at once on every replica,
    /// as an admin's suspension does: one path, whichever request suspended them.
    private func endSessionsIfSuspended(_ user: SCIMUser) async {
        if user.user.status == .suspended { await authenticator.userChanged(user.user.id) }
    }

    private func outcome(_ user: SCIMUser, status: HTTPResponse.Status, location: Bool) -> SCIMWriteOutcome {
        SCIMWriteOutcome(
            status: status, resource: SCIMUserResource.json(user, base: base, productKeys: productKeys), version: user.version,
            location: "\(base)/Users/\(user.user.id.uuidString.lowercased())", locationHeader: location
        )
    }
}

extension SCIMUsersController {
    /// The audit row of a SCIM change: no acting user, Coder's automatic actor fields.
    private func auditor(_ request: Request, _ context: AppRequestContext) -> Store.SCIMUserAudit {
        // An IdP's bearer-key request has no subject: its trail is made here, not by the
        // authentication middleware.
        let audit = self.audit.trail(request, context)
        return { action, old, new in
            guard let subject = new ?? old else { return nil }
            return try audit.record(
                .user, id: subject.user.id, target: subject.user.username, action: action,
                old: old.map(SCIMController.auditSnapshot), new: new.map(SCIMController.auditSnapshot),
                organization: subject.user.organizationIDs.first, status: Self.auditStatus(action), additionalFields: SCIMController.automaticActor
            )
        }
    }
}

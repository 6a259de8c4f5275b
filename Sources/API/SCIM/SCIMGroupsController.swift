import Foundation
import HTTPTypes
import Hummingbird
import SCIMCore
import Store
import WireFormat

/// SCIM Groups (coder/coder#11425, #17638: Coder never had them): the default organization's
/// groups, Everyone excepted. Gated on `template_rbac` as the product's groups are, besides `scim`.
/// A membership change here is a membership change of the product's group, seen at once by
/// `/api/v2/groups` (one database, no copy).
struct SCIMGroupsController: ResourceController {
    let mountPath: String
    let base: String
    let authentication: SCIMAuthentication
    let store: Store
    let organization: SCIMOrganization
    let audit: AuditRecorder

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = SCIMController.guarded(authentication, guards)
        routes.add(middleware: guards.feature(.templateRBAC, shape: .scim) as RequireFeature<AppRequestContext>)
        addRoutes(to: routes)
        return routes
    }
}

extension SCIMGroupsController: SCIMResourceType {
    static let endpoint = "Groups"
    static let resourceName = "Group"

    /// Members are read only when the answer shows them (Entra lists with `excludedAttributes=members`).
    func list(_ query: SCIMListQuery) async throws -> SCIMPage {
        let organizationID = try await organization.id()
        let members = { (path: SCIMAttributePath) in path.name.caseInsensitiveCompare("members") == .orderedSame }
        let withMembers = !query.excludedAttributes.contains { members($0) && $0.subAttribute == nil }
            && (query.attributes.isEmpty || query.attributes.contains(where: members))
        let found = try await Self.filtering { try await store.scimGroups(query.request, organizationID: organizationID, members: withMembers) }
        return SCIMPage(resources: found.groups.map { query.project(SCIMGroupResource.json($0, base: base)) }, total: found.total)
    }

    func read(id: UUID) async throws -> (resource: JSONValue, version: Int64)? {
        guard let group = try await store.scimGroup(id: id, organizationID: try await organization.id()) else { return nil }
        return (SCIMGroupResource.json(group, base: base), group.version)
    }

    func create(body: JSONValue, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The resource must be a JSON object.") }
        let write = try SCIMGroupResource.write(object)
        let organizationID = try await organization.id()
        let group = try await SCIMController.mapped {
            try await store.scimCreateGroup(write, organizationID: organizationID, audit: auditor(request, context))
        }
        return outcome(group, status: .created, location: true)
    }

    func replace(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The resource must be a JSON object.") }
        let write = try SCIMGroupResource.write(object)
        return try await change(id, ifVersion, request, context) { _ in write }
    }

    func patch(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        // Refused before the resource is read when it carries more values than the attribute may hold.
        let patch = try SCIMPatch(body: body, document: SCIMGroupResource.document)
        return try await change(id, ifVersion, request, context) { current in
            try SCIMGroupResource.write(try patch.apply(to: SCIMGroupResource.writable(current), document: SCIMGroupResource.document))
        }
    }

    func delete(id: UUID, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome {
        let organizationID = try await organization.id()
        let found = try await SCIMController.mapped {
            try await store.scimDeleteGroup(id: id, organizationID: organizationID, ifVersion: ifVersion, audit: auditor(request, context))
        }
        guard found else { throw Self.notFound(id) }
        return SCIMWriteOutcome(status: .noContent)
    }

    private func change(_ id: UUID, _ ifVersion: Int64?, _ request: Request, _ context: AppRequestContext, _ change: @escaping @Sendable (SCIMGroup) throws -> SCIMGroupWrite) async throws -> SCIMWriteOutcome {
        let organizationID = try await organization.id()
        let changed = try await SCIMController.mapped {
            try await store.scimReplaceGroup(id: id, organizationID: organizationID, ifVersion: ifVersion, audit: auditor(request, context), change: change)
        }
        guard let changed else { throw Self.notFound(id) }
        return outcome(changed, status: .ok, location: false)
    }

    private func outcome(_ group: SCIMGroup, status: HTTPResponse.Status, location: Bool) -> SCIMWriteOutcome {
        SCIMWriteOutcome(
            status: status, resource: SCIMGroupResource.json(group, base: base), version: group.version,
            location: "\(base)/Groups/\(group.group.id.uuidString.lowercased())", locationHeader: location
        )
    }
}

extension SCIMGroupsController {
    private func auditor(_ request: Request, _ context: AppRequestContext) -> Store.SCIMGroupAudit {
        // An IdP's bearer-key request has no subject: its trail is made here, not by the
        // authentication middleware.
        let audit = self.audit.trail(request, context)
        return { action, old, new in
            guard let subject = new ?? old else { return nil }
            return try audit.record(
                .group, id: subject.group.id, target: subject.group.name, action: action,
                old: old.map { JSONValue.object(SCIMGroupResource.writable($0)) }, new: new.map { JSONValue.object(SCIMGroupResource.writable($0)) },
                organization: subject.group.organizationID, status: Self.auditStatus(action), additionalFields: SCIMController.automaticActor
            )
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
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
        routes.add(middleware: guards.feature(.templateRBAC, shape: .scim))
        routes.get("Groups", use: list)
        routes.post("Groups/.search", use: search)
        routes.post("Groups", use: create)
        routes.get("Groups/:id", use: get)
        routes.put("Groups/:id", use: replace)
        routes.patch("Groups/:id", use: patch)
        routes.delete("Groups/:id", use: delete)
        routes.post("Groups/:id") { _, _ -> Response in throw SCIMError.methodNotAllowed }
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
        let withMembers = !query.excludedAttributes.contains { $0.name.caseInsensitiveCompare("members") == .orderedSame && $0.subAttribute == nil }
            && (query.attributes.isEmpty || query.attributes.contains { $0.name.caseInsensitiveCompare("members") == .orderedSame })
        let found: (groups: [SCIMGroup], total: Int)
        do {
            found = try await store.scimGroups(query.request, organizationID: organizationID, members: withMembers)
        } catch let error as SCIMQueryError {
            throw SCIMError.invalidFilter(error.message)
        }
        let resources = found.groups.map { query.project(SCIMGroupResource.json($0, base: base)) }
        return try SCIMController.document(SCIMListResponse(total: found.total, startIndex: query.request.startIndex, resources: resources))
    }

    @Sendable func get(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        guard let group = try await store.scimGroup(id: id, organizationID: try await organization.id()) else { throw Self.notFound(id) }
        if let noneMatch = request.headers[.ifNoneMatch], SCIMController.tags(noneMatch).contains(where: { $0 == "*" || SCIMController.version(fromETag: $0) == group.version }) {
            return Response(status: .notModified, headers: [.eTag: SCIMController.etag(group.version)])
        }
        let query = try SCIMListQuery(projectionOnly: request.uri.queryParameters)
        return try SCIMController.resource(query.project(SCIMGroupResource.json(group, base: base)), version: group.version)
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
extension SCIMGroupsController: SCIMWritableResource {
    static let endpoint = "Groups"

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
        let patch = try SCIMPatch(body: body)
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
    static func id(_ context: AppRequestContext) throws -> UUID {
        let raw = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw) else { throw SCIMError.notFound("No Group has the id \"\(raw.prefix(64))\".") }
        return id
    }

    static func notFound(_ id: UUID) -> SCIMError {
        SCIMError.notFound("No Group has the id \"\(id.uuidString.lowercased())\".")
    }

    private func auditor(_ request: Request, _ context: AppRequestContext) -> Store.SCIMGroupAudit {
        let audit = self.audit
        return { action, old, new in
            guard let subject = new ?? old else { return nil }
            let status: HTTPResponse.Status = action == .create ? .created : action == .delete ? .noContent : .ok
            return try audit.entry(
                request, context, resourceType: .group, resourceID: subject.group.id, target: subject.group.name, action: action,
                old: old.map { JSONValue.object(SCIMGroupResource.writable($0)) }, new: new.map { JSONValue.object(SCIMGroupResource.writable($0)) },
                organizationID: subject.group.organizationID, status: status, additionalFields: SCIMController.automaticActor
            )
        }
    }
}

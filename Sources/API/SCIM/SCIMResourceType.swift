import Foundation
import HTTPTypes
import Hummingbird
import Store
import WireFormat

/// One page of a SCIM list, its resources as returned.
struct SCIMPage: Sendable {
    var resources: [JSONValue]
    var total: Int
}

/// A SCIM resource type (Users, Groups): what differs between them. The routes, the HTTP
/// wrappers, ids, ETags and `If-None-Match` are the same for every type (below), and `/Bulk` and
/// the root `/.search` run the same functions.
protocol SCIMResourceType: Sendable {
    /// `Users`: the endpoint, under the base path.
    static var endpoint: String { get }
    /// `User`: for messages.
    static var resourceName: String { get }
    func list(_ query: SCIMListQuery) async throws -> SCIMPage
    /// The resource as returned and its version; nil when SCIM does not see it.
    func read(id: UUID) async throws -> (resource: JSONValue, version: Int64)?
    func create(body: JSONValue, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome
    func replace(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome
    func patch(id: UUID, body: JSONValue, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome
    func delete(id: UUID, ifVersion: Int64?, _ request: Request, _ context: AppRequestContext) async throws -> SCIMWriteOutcome
}

extension SCIMResourceType {
    /// Every route of the type on `routes`: list, `.search`, create, and get, PUT, PATCH, DELETE
    /// of one resource (POST on one is 405).
    func addRoutes(to routes: RouteCollection<AppRequestContext>) {
        let endpoint = Self.endpoint
        routes.get(RouterPath(endpoint)) { request, _ in
            try await self.respond(SCIMListQuery(query: request.uri.queryParameters))
        }
        routes.post(RouterPath("\(endpoint)/.search")) { request, _ in
            try await self.respond(SCIMListQuery(body: try await SCIMController.body(request)))
        }
        routes.post(RouterPath(endpoint)) { request, context in
            try await self.create(body: SCIMController.body(request), request, context).response()
        }
        routes.get(RouterPath("\(endpoint)/:id")) { request, context in
            let id = try Self.id(context)
            guard let found = try await self.read(id: id) else { throw Self.notFound(id) }
            if let noneMatch = request.headers[.ifNoneMatch],
               SCIMController.tags(noneMatch).contains(where: { $0 == "*" || SCIMController.version(fromETag: $0) == found.version }) {
                return Response(status: .notModified, headers: [.eTag: SCIMController.etag(found.version)])
            }
            let query = try SCIMListQuery(projectionOnly: request.uri.queryParameters)
            return try SCIMController.resource(query.project(found.resource), version: found.version)
        }
        routes.put(RouterPath("\(endpoint)/:id")) { request, context in
            try await self.replace(id: Self.id(context), body: SCIMController.body(request), ifVersion: SCIMController.ifMatch(request), request, context).response()
        }
        routes.patch(RouterPath("\(endpoint)/:id")) { request, context in
            try await self.patch(id: Self.id(context), body: SCIMController.body(request), ifVersion: SCIMController.ifMatch(request), request, context).response()
        }
        routes.delete(RouterPath("\(endpoint)/:id")) { request, context in
            try await self.delete(id: Self.id(context), ifVersion: SCIMController.ifMatch(request), request, context).response()
        }
        routes.post(RouterPath("\(endpoint)/:id")) { _, _ -> Response in throw SCIMError.methodNotAllowed }
    }

    private func respond(_ query: SCIMListQuery) async throws -> Response {
        let page = try await list(query)
        return try SCIMController.document(SCIMListResponse(total: page.total, startIndex: query.request.startIndex, resources: page.resources))
    }

    /// A non-UUID id names no resource: 404, as for an unknown one.
    static func id(_ context: AppRequestContext) throws -> UUID {
        let raw = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw) else { throw SCIMError.notFound("No \(resourceName) has the id \"\(raw.prefix(64))\".") }
        return id
    }

    static func notFound(_ id: UUID) -> SCIMError {
        SCIMError.notFound("No \(resourceName) has the id \"\(id.uuidString.lowercased())\".")
    }

    /// A Store list call with a filter it cannot run answered as `invalidFilter`.
    static func filtering<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SCIMQueryError {
            throw SCIMError.invalidFilter(error.message)
        }
    }

    /// The audit status of a change, as its HTTP answer would be.
    static func auditStatus(_ action: AuditAction) -> HTTPResponse.Status {
        action == .create ? .created : action == .delete ? .noContent : .ok
    }
}

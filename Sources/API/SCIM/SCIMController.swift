import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import Licensing
import Store
import WireFormat

/// SCIM 2.0 (RFC 7643/7644), mounted at Coder's `/scim/v2` and at the seed's `/api/v2/scim/v2`:
/// the discovery documents (RFC 7644 §4) here, Users and Groups in their own controllers. Every
/// path is authenticated by `SCIMAuthentication` and gated on the `scim` feature, and every
/// error under these paths is a SCIM error body (`application/scim+json`, see `ErrorMiddleware`).
struct SCIMController: ResourceController {
    let mountPath: String
    let base: String
    let authentication: SCIMAuthentication
    let users: SCIMUsersController
    let groups: SCIMGroupsController
    /// Whether Groups are served (`template_rbac`), for the root search.
    let groupsEnabled: @Sendable () -> Bool

    static let mountPaths = ["scim/v2", "api/v2/scim/v2"]
    static let contentType = "application/scim+json"

    /// Whether `path` is under a SCIM base path.
    static func owns(_ path: String) -> Bool {
        mountPaths.contains { path == "/\($0)" || path.hasPrefix("/\($0)/") }
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = Self.guarded(authentication, guards)
        let discovery = SCIMDiscovery(base: base)
        routes.get("ServiceProviderConfig") { _, _ in try Self.document(discovery.serviceProviderConfig) }
        routes.get("ResourceTypes") { _, _ in try Self.document(discovery.resourceTypes) }
        routes.get("ResourceTypes/:id") { _, context in
            guard let type = discovery.resourceType(context.parameters.get("id") ?? "") else { throw SCIMError.notFound("No such resource type.") }
            return try Self.document(type)
        }
        routes.get("Schemas") { _, _ in try Self.document(discovery.schemas) }
        routes.get("Schemas/:id") { _, context in
            guard let schema = discovery.schema(context.parameters.get("id") ?? "") else { throw SCIMError.notFound("No such schema.") }
            return try Self.document(schema)
        }
        // RFC 7644 §4: the discovery endpoints are read-only.
        for path in ["ServiceProviderConfig", "ResourceTypes", "ResourceTypes/:id", "Schemas", "Schemas/:id"] {
            for method in [HTTPRequest.Method.post, .put, .patch, .delete] {
                routes.on(RouterPath(path), method: method) { _, _ -> Response in throw SCIMError.methodNotAllowed }
            }
        }
        routes.post(".search") { request, _ in try await rootSearch(SCIMListQuery(body: try await Self.body(request))) }
        return routes
    }

    /// RFC 7644 §3.4.3 at the root: Users, then Groups (while `template_rbac` allows them), as one
    /// list. A filter naming what one type lacks leaves that type out, as RFC 7644 says of
    /// attributes a resource does not have; it is `invalidFilter` only when it fits neither.
    /// The page is asked of each type in turn with the part of the window that falls in it, so
    /// that any `startIndex ≥ 1` is valid (one past the end is an empty page with the right
    /// `totalResults`) and no index arithmetic can overflow.
    private func rootSearch(_ query: SCIMListQuery) async throws -> Response {
        let types: [any SCIMResourceType] = groupsEnabled() ? [users, groups] : [users]
        var resources: [JSONValue] = []
        var total = 0
        var fitted = false
        // The window's start within the type being asked (1-based), and what is still wanted.
        var start = query.request.startIndex
        for type in types {
            var wanted = query
            wanted.request.startIndex = start
            wanted.request.count = query.request.count - resources.count
            do {
                let page = try await type.list(wanted)
                fitted = true
                total = total.addingReportingOverflow(page.total).overflow ? Int.max : total + page.total
                resources += page.resources.prefix(max(0, wanted.request.count))
                // Positions this type held before the window move the window's start back.
                start = start > page.total ? start - page.total : 1
            } catch let error as SCIMError where error.scimType == "invalidFilter" {
                continue
            }
        }
        guard fitted else { throw SCIMError.invalidFilter("The filter names attributes neither Users nor Groups have.") }
        return try Self.document(SCIMListResponse(total: total, startIndex: query.request.startIndex, resources: resources))
    }

    /// A route collection behind SCIM's authentication and the `scim` feature gate.
    static func guarded(_ authentication: SCIMAuthentication, _ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: authentication)
        routes.add(middleware: guards.feature(.scim, shape: .scim))
        return routes
    }

    static func document(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = try JSON.response(value, status: status)
        response.headers[.contentType] = contentType
        return response
    }

    /// A request body as JSON, with SCIM's errors.
    static func body(_ request: Request) async throws -> JSONValue {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumJSONBodySize)
        } catch {
            throw SCIMError(status: .contentTooLarge, scimType: nil, detail: "The request body is larger than \(maximumJSONBodySize) bytes.")
        }
        let value: JSONValue
        do {
            value = try WireJSON.decode(JSONValue.self, from: Data(buffer: buffer))
        } catch {
            throw SCIMError.invalidSyntax("The request body is not valid JSON.")
        }
        if let field = NULCharacter.path(in: value) {
            throw SCIMError.invalidValue("\"\(field.isEmpty ? "body" : field)\" must not contain the NUL character (U+0000).")
        }
        // Whatever an IdP writes is kept in NFC, and filters compare in NFC (`SCIMFilterSQL`):
        // a `userName` sent in two normal forms is one user.
        return value.precomposed
    }

    /// The entity tags of an `If-Match`/`If-None-Match` value.
    static func tags(_ header: String) -> [String] {
        header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The version `If-Match` requires: nil without the header or with `*`; a tag of no
    /// version of ours requires one that never exists (412).
    static func ifMatch(_ request: Request) throws -> Int64? {
        guard let header = request.headers[.ifMatch] else { return nil }
        let tags = tags(header)
        if tags.contains("*") { return nil }
        return tags.lazy.compactMap(version(fromETag:)).first ?? Int64.min
    }

    static func resource(_ json: JSONValue, version: Int64, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = try SCIMController.document(json, status: status)
        response.headers[.eTag] = etag(version)
        return response
    }

    /// Store errors in SCIM's words.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch StoreError.conflict(let field) {
            switch field {
            case "email": throw SCIMError.uniqueness("Another user has that email address.")
            case "username": throw SCIMError.uniqueness("No free username could be made from that userName.")
            case "name": throw SCIMError.uniqueness("Another group has that displayName.")
            default: throw SCIMError.uniqueness("Another SCIM user has that userName.")
            }
        } catch SCIMWriteError.versionMismatch {
            throw SCIMError.preconditionFailed
        } catch let error as SCIMUnknownMembers {
            throw SCIMError.invalidValue("No user has the id \"\(error.ids[0].uuidString.lowercased())\" in the organization" + (error.ids.count > 1 ? " (nor \(error.ids.count - 1) more)." : "."))
        }
    }

    /// `meta.version` and the `ETag` header: a weak tag of a resource's version.
    static func etag(_ version: Int64) -> String { "W/\"\(version)\"" }

    /// The version an `If-Match`/`If-None-Match` value names, or nil for `*` or a tag of no
    /// version of ours (which then matches nothing).
    static func version(fromETag tag: String) -> Int64? {
        var text = tag.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text.removeFirst(2) }
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else { return Int64(text) }
        return Int64(text.dropFirst().dropLast())
    }

    /// Coder's audit fields for changes SCIM makes.
    static let automaticActor: JSONValue = .object(["automatic_actor": "coder", "automatic_subsystem": "scim"])

    /// What an audit row keeps of a SCIM user: its writable attributes and product status.
    static func auditSnapshot(_ user: SCIMUser) -> JSONValue {
        var out = SCIMUserResource.writable(user)
        out["status"] = .string(user.user.status.rawValue)
        out["username"] = .string(user.user.username)
        return .object(out)
    }
}

/// Who may speak SCIM: the IdP with the key from `--scim-auth-header`, sent as
/// `Authorization: Bearer <key>` or, as Coder v0.17 reads it, the raw key (compared in constant
/// time); or an owner with a session token (the seed's examples send one). Without a key
/// configured SCIM is off: every path is 404, owners included.
struct SCIMAuthentication: RouterMiddleware {
    typealias Context = AppRequestContext
    let key: String?
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key else {
            throw Self.error(.notFound, "SCIM is disabled. Set --scim-auth-header (CODER_SCIM_AUTH_HEADER) to enable it.")
        }
        var context = context
        if let authorization = request.headers[.authorization], !authorization.isEmpty {
            let presented = authorization.lowercased().hasPrefix("bearer ") ? String(authorization.dropFirst("bearer ".count)) : authorization
            guard Tokens.constantTimeEqual(presented.trimmingCharacters(in: .whitespaces), key) else {
                throw Self.error(.unauthorized, "The SCIM credentials are not valid.")
            }
            return try await next(request, context)
        }
        let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { a, _ in a })
        guard let token = Authenticator.presentedToken(headers: request.headers, query: query) else {
            throw Self.error(.unauthorized, "SCIM requests need Authorization: Bearer <key>.")
        }
        let subject: Subject
        do {
            subject = try await authenticator.authenticate(token: token)
        } catch {
            throw Self.error(.unauthorized, "The SCIM credentials are not valid.")
        }
        guard subject.siteRoles.contains(Role.owner.rawValue) else {
            throw Self.error(.forbidden, "Only owners may use SCIM with a session token.")
        }
        context.subject = subject
        return try await next(request, context)
    }

    static func error(_ status: HTTPResponse.Status, _ detail: String) -> APIError {
        var error = APIError(status, detail)
        error.shape = .scim
        return error
    }
}

/// The default organization's id, which SCIM provisions into: read once, then kept (it is
/// created with the first user and never deleted), so that a SCIM request costs no query for it.
final class SCIMOrganization: Sendable {
    let store: Store
    private let cached = Mutex<UUID?>(nil)

    init(store: Store) { self.store = store }

    func id() async throws -> UUID {
        if let id = cached.withLock({ $0 }) { return id }
        guard let id = try await store.defaultOrganizationID() else {
            throw SCIMError(status: .serviceUnavailable, detail: "The deployment has no default organization yet: create the first user.")
        }
        cached.withLock { $0 = id }
        return id
    }
}

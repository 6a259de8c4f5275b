import Foundation
import HTTPTypes
import Hummingbird
import Licensing
import Store

/// SCIM 2.0 (RFC 7643/7644), mounted at Coder's `/scim/v2` and at the seed's `/api/v2/scim/v2`.
/// Every path is authenticated by `SCIMAuthentication` and gated on the `scim` feature, and
/// every error is a SCIM error body (`application/scim+json`).
///
/// So far: mounting, authentication and the discovery documents (RFC 7644 §4), which say
/// exactly what is supported; Users and Groups come next (issue 13).
struct SCIMController: ResourceController {
    let mountPath: String
    let authentication: SCIMAuthentication

    static let mountPaths = ["scim/v2", "api/v2/scim/v2"]
    static let contentType = "application/scim+json"

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: authentication)
        routes.add(middleware: guards.feature(.scim, shape: .scim))
        routes.get("ServiceProviderConfig") { _, _ in try Self.document(SCIMDiscovery.serviceProviderConfig) }
        routes.get("ResourceTypes") { _, _ in try Self.document(SCIMDiscovery.resourceTypes) }
        routes.get("Schemas") { _, _ in try Self.document(SCIMDiscovery.schemas) }
        return routes
    }

    static func document(_ value: some Encodable) throws -> Response {
        var response = try JSON.response(value)
        response.headers[.contentType] = contentType
        return response
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

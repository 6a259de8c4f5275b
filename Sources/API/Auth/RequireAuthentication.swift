import HTTPTypes
import Hummingbird

/// Authenticates every request of the routes it guards, or answers 401 in Coder's words.
struct RequireAuthentication: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: Authenticator
    /// Cookie-authenticated upgrades must come from a page of this origin.
    let accessURL: String
    /// Whose entitlement warnings owners see on every response.
    var features: any FeatureProvider = AllFeaturesEnabled()
    /// Makes the signed-in request's audit trail.
    let audit: AuditRecorder

    static let entitlementsWarningHeader = HTTPField.Name("X-Coder-Entitlements-Warning")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A malformed WebSocket handshake is refused before the token costs a lookup. (Routes
        // without this middleware get the same check from `webSocket` before their own work.)
        try context.webSocketUpgrade?.checkHandshake()
        let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { a, _ in a })
        // An upgrade authenticated by cookie must come from the access URL's origin: a browser
        // adds the cookie to any page's WebSocket (there is no CORS for WebSockets).
        let presented = context.webSocketUpgrade == nil
            ? Authenticator.presentedToken(headers: request.headers, query: query)
            : try Authenticator.webSocketToken(headers: request.headers, query: query, accessURL: accessURL)
        guard let token = presented else {
            throw APIError(
                .unauthorized, "You are signed out or your session has expired. Please sign in again to continue.",
                detail: "Cookie \"\(Authenticator.cookieName)\" or query parameter must be provided."
            )
        }
        var context = context
        let subject = try await authenticator.authenticate(token: token)
        context.subject = subject
        context.audit = audit.trail(request, context)
        // As Coder: owners (who may read the deployment's configuration) see the warnings, on
        // error responses too (Coder sets them before the handler runs).
        var warnings = HTTPFields()
        if RBAC.can(subject, .read, .deploymentConfig) {
            for warning in features.entitlementWarnings { warnings.append(HTTPField(name: Self.entitlementsWarningHeader, value: warning)) }
        }
        guard !warnings.isEmpty else { return try await next(request, context) }
        do {
            var response = try await next(request, context)
            response.headers.append(contentsOf: warnings)
            return response
        } catch {
            throw ErrorWithHeaders(underlying: error, headers: warnings)
        }
    }
}

/// An error whose response, written by `ErrorMiddleware`, carries `headers` as well.
struct ErrorWithHeaders: Error {
    let underlying: any Error
    let headers: HTTPFields
}

import Hummingbird

/// Authenticates every request of the routes it guards, or answers 401 in Coder's words.
struct RequireAuthentication: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { a, _ in a })
        guard let token = Authenticator.presentedToken(headers: request.headers, query: query) else {
            throw APIError(
                .unauthorized, "You are signed out or your session has expired. Please sign in again to continue.",
                detail: "Cookie \"\(Authenticator.cookieName)\" or query parameter must be provided."
            )
        }
        var context = context
        context.subject = try await authenticator.authenticate(token: token)
        return try await next(request, context)
    }
}

import Hummingbird
import Licensing

/// One resource's routes, in one file under `Routes/`, mounted in one place (`APIServer`).
///
/// The shape every controller follows: public routes first (if any), then
/// `routes.add(middleware: guards.authentication)`, then, for a licensed resource,
/// `routes.add(middleware: guards.feature(.someFeature))`; handlers load what they act on with
/// `context.load(_:for:)` (the 404-or-403 rule), decode bodies into validated request types
/// (`RequestFields`), page with `request.page()` and return `Encodable` values, which the
/// context's encoder writes.
protocol ResourceController: Sendable {
    /// Where the routes are mounted; the API's root by default.
    var mountPath: String { get }
    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext>
}

extension ResourceController {
    var mountPath: String { "api/v2" }
}

/// The middlewares controllers put in front of their routes, made once per server.
struct RouteGuards: Sendable {
    let authentication: RequireAuthentication
    let features: any FeatureProvider

    /// Refuses when `feature` is not enabled, in the route family's error shape. Add it after
    /// `authentication`: an unauthenticated caller learns nothing about the license.
    func feature<Context: RequestContext>(_ feature: FeatureName, shape: APIError.Shape = .coder) -> RequireFeature<Context> {
        RequireFeature(feature: feature, provider: features, shape: shape)
    }

    /// The routes of `routes` added after this call run behind authentication and then, if
    /// given, `feature`'s gate, with a `SignedInContext`: the subject is never missing there.
    func signedIn(_ routes: RouteCollection<AppRequestContext>, feature: FeatureName? = nil) -> RouterGroup<SignedInContext> {
        routes.add(middleware: authentication)
        let group = routes.group(context: SignedInContext.self)
        if let feature { group.add(middleware: self.feature(feature)) }
        return group
    }
}

/// A 201 with the body, for handlers that return `Encodable` values.
struct Created<Body: Encodable & Sendable>: ResponseGenerator {
    let body: Body
    init(_ body: Body) { self.body = body }
    func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSON.response(body, status: .created)
    }
}

import Hummingbird
import Licensing

/// Answers whether a feature is enabled now (entitled, or in its grace period, and switched on),
/// from memory: it is asked on every gated request.
public protocol FeatureProvider: Sendable {
    func isEnabled(_ feature: FeatureName) -> Bool
    /// Shown to owners on every authenticated response (`X-Coder-Entitlements-Warning`).
    var entitlementWarnings: [String] { get }
}

extension FeatureProvider {
    public var entitlementWarnings: [String] { [] }
}

public struct AllFeaturesEnabled: FeatureProvider {
    public init() {}
    public func isEnabled(_ feature: FeatureName) -> Bool { true }
}

/// A route's feature gate: after authentication, refuses with Coder's 403
/// "<Feature> is an Enterprise feature. Contact sales!" in the route family's error shape.
struct RequireFeature<Context: RequestContext>: RouterMiddleware {    let feature: FeatureName
    let provider: any FeatureProvider
    let shape: APIError.Shape

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard provider.isEnabled(feature) else {
            var error = APIError(.forbidden, "\(feature.humanized) is an Enterprise feature. Contact sales!")
            error.shape = shape
            throw error
        }
        return try await next(request, context)
    }
}

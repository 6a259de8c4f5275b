import Hummingbird

/// A licensed feature, named as Coder's entitlements name it.
public enum Feature: String, CaseIterable, Sendable {
    case auditLog = "audit_log"
    case browserOnly = "browser_only"
    case scim
    case templateRBAC = "template_rbac"
    case highAvailability = "high_availability"
    case multipleExternalAuth = "multiple_external_auth"
    case externalProvisionerDaemons = "external_provisioner_daemons"
    case appearance
    case advancedTemplateScheduling = "advanced_template_scheduling"
    case workspaceProxy = "workspace_proxy"
    case userRoleManagement = "user_role_management"
    case workspaceBatchActions = "workspace_batch_actions"
    case accessControl = "access_control"
    case controlSharedPorts = "control_shared_ports"
    case customRoles = "custom_roles"
    case multipleOrganizations = "multiple_organizations"

    /// Coder's `Humanize`: "Template RBAC", "SCIM", otherwise title case with spaces.
    public var displayName: String {
        switch self {
        case .templateRBAC: "Template RBAC"
        case .scim: "SCIM"
        default: rawValue.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
        }
    }
}

/// Answers whether a feature is enabled now (entitled, or in its grace period, and switched on).
/// The licensing issue provides the real one; until then everything is enabled.
public protocol FeatureProvider: Sendable {
    func isEnabled(_ feature: Feature) async -> Bool
}

public struct AllFeaturesEnabled: FeatureProvider {
    public init() {}
    public func isEnabled(_ feature: Feature) async -> Bool { true }
}

/// A route's feature gate: after authentication, refuses with Coder's 403
/// "<Feature> is an Enterprise feature. Contact sales!" in the route family's error shape.
struct RequireFeature: RouterMiddleware {
    typealias Context = AppRequestContext
    let feature: Feature
    let provider: any FeatureProvider
    let shape: APIError.Shape

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard await provider.isEnabled(feature) else {
            var error = APIError(.forbidden, "\(feature.displayName) is an Enterprise feature. Contact sales!")
            error.shape = shape
            throw error
        }
        return try await next(request, context)
    }
}

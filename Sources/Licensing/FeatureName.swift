/// The features of Coder v0.17's enterprise edition, in Coder's order (`codersdk.FeatureNames`).
public enum FeatureName: String, CaseIterable, Sendable, Codable {
    case userLimit = "user_limit"
    case auditLog = "audit_log"
    case browserOnly = "browser_only"
    case scim
    case templateRBAC = "template_rbac"
    case highAvailability = "high_availability"
    case multipleGitAuth = "multiple_git_auth"
    case externalProvisionerDaemons = "external_provisioner_daemons"
    case appearance

    /// As in warnings: Coder's `Humanize`, title case with spaces but for two acronyms.
    public var humanized: String {
        switch self {
        case .templateRBAC: "Template RBAC"
        case .scim: "SCIM"
        default:
            rawValue.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
        }
    }

    /// Enabled whenever a license entitles them, whatever the deployment's configuration says.
    public var alwaysEnabledWhenEntitled: Bool {
        switch self {
        case .multipleGitAuth, .externalProvisionerDaemons, .appearance: true
        default: false
        }
    }

    /// A count, never granted by a feature set: a license must name it with its limit.
    public var usesLimit: Bool { self == .userLimit }

    /// The features `feature_set: enterprise` (or `all_features: true`) grants.
    public static func granted(byFeatureSet set: String) -> [FeatureName] {
        switch set.lowercased() {
        case "enterprise", "premium": allCases.filter { !$0.usesLimit }
        default: []
        }
    }
}

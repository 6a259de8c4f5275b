import Foundation

/// `GET /api/v2/entitlements`, in the seed's shape (`codersdk.Entitlements` of v0.17) plus
/// Coder's later additive `require_telemetry` and `refreshed_at`. Keys encode in the seed's order.
public struct Entitlements: Sendable, Equatable, Encodable {
    public var errors: [String] = []
    /// Deprecated in v0.17 and kept for its clients: whether experimental features are on.
    public var experimental = false
    public var features: [String: Feature] = [:]
    public var hasLicense = false
    public var refreshedAt: Date
    public var requireTelemetry = false
    public var trial = false
    public var warnings: [String] = []

    public init(refreshedAt: Date) {
        self.refreshedAt = refreshedAt
    }

    public subscript(feature: FeatureName) -> Feature {
        get { features[feature.rawValue] ?? Feature(entitlement: .notEntitled, enabled: false) }
        set { features[feature.rawValue] = newValue }
    }

    enum CodingKeys: String, CodingKey {
        case errors, experimental, features
        case hasLicense = "has_license"
        case refreshedAt = "refreshed_at"
        case requireTelemetry = "require_telemetry"
        case trial, warnings
    }
}

public enum Entitlement: String, Sendable, Equatable, Codable, Comparable {
    case entitled
    case gracePeriod = "grace_period"
    case notEntitled = "not_entitled"

    /// Coder's `Weight`: the best of several licenses wins.
    var weight: Int {
        switch self {
        case .entitled: 2
        case .gracePeriod: 1
        case .notEntitled: 0
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.weight < b.weight }
}

/// One feature's state. `limit` and `actual` are left out when absent, as Coder's `omitempty` does.
public struct Feature: Sendable, Equatable, Encodable {
    public var actual: Int64?
    public var enabled: Bool
    public var entitlement: Entitlement
    public var limit: Int64?

    public init(entitlement: Entitlement, enabled: Bool, limit: Int64? = nil, actual: Int64? = nil) {
        self.entitlement = entitlement
        self.enabled = enabled
        self.limit = limit
        self.actual = actual
    }

    /// Coder's `Feature.Compare` for features without usage periods: entitlement, then
    /// having a limit, then the higher limit, then enabled. Ties go to the newcomer.
    func isBetter(than other: Feature) -> Bool {
        if entitlement != other.entitlement { return entitlement > other.entitlement }
        switch (limit, other.limit) {
        case (nil, .some): return false
        case (.some, nil): return true
        case (.some(let a), .some(let b)) where a != b: return a > b
        default: break
        }
        if enabled != other.enabled { return enabled }
        return false
    }
}

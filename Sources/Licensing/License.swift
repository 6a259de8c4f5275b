import Foundation
import WireFormat

/// A verified license: its claims verbatim (for `GET /licenses`, numbers as numbers) and the
/// typed fields the entitlements need, read as Coder's `license.Claims` reads them.
public struct License: Sendable, Equatable {
    /// The JWT payload exactly as signed.
    public let claims: [String: JSONValue]
    /// The header's `kid`: which key of the ring vouched for it.
    public let keyID: String

    public let id: String?
    public let subject: String?
    public let accountType: String?
    public let accountID: String?
    public let issuedAt: Date?
    public let notBefore: Date?
    /// `exp`: the end of the grace period, after which the license is refused.
    public let graceEnds: Date?
    /// `license_expires`: the end of the paid term and the start of the grace period.
    public let licenseExpires: Date
    public let trial: Bool
    /// Deprecated by Coder in favour of `feature_set`; kept because v0.17 licenses carry it.
    public let allFeatures: Bool
    public let featureSet: String
    public let features: [String: Int64]
    public let deploymentIDs: [String]
    public let requireTelemetry: Bool
    public let version: Int64

    /// `jti` as the license's UUID, when it is one (Coder picks a random UUID otherwise).
    public var uuid: UUID? { id.flatMap(UUID.init(uuidString:)) }

    /// `feature_set`, with `all_features` standing for `enterprise` when the set is empty.
    public var effectiveFeatureSet: String {
        featureSet.isEmpty && allFeatures ? "enterprise" : featureSet
    }

    public var userLimit: Int64? { features["user_limit"].flatMap { $0 > 0 ? $0 : nil } }

    /// When the license starts counting for expiry warnings: `nbf`, else `iat`, else always.
    /// Coder requires `nbf` nowadays; v0.17 licenses may lack it.
    var validFrom: Date { notBefore ?? issuedAt ?? .distantPast }
}

extension License {
    /// The instants a time claim (`iat`, `nbf`, `exp`, `license_expires`) may name, in seconds
    /// since 1970: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, what RFC 3339 can write. Every
    /// date of the product travels as RFC 3339 (in JSON, and `exp` to PostgreSQL and back, where
    /// a fifth digit of year would never read back), and within these bounds no arithmetic on a
    /// claim overflows. A claim outside them, or a number that is no number, is refused.
    public static let representableSeconds: ClosedRange<TimeInterval> = -62_135_596_800 ... 253_402_300_799

    /// The refusal of a time claim outside `representableSeconds`; `written` is the claim's
    /// number as the license has it.
    static func outOfRange(_ claim: String, _ written: String) -> LicenseError {
        LicenseError(.outOfRange, "\(claim) claim out of range: \(written) is not a time between the years 0001 and 9999")
    }

    /// A time claim's seconds, truncated to whole seconds as golang-jwt's NumericDate keeps them,
    /// when they name a representable instant; nil otherwise (never a trap, whatever the double).
    static func claimDate(seconds: Double) -> Date? {
        guard seconds.isFinite else { return nil }
        let whole = seconds.rounded(.towardZero)
        guard representableSeconds.contains(whole) else { return nil }
        return Date(timeIntervalSince1970: whole)
    }
}

/// Why a license was refused, with Coder's wording (`enterprise/coderd/license`), which
/// `POST /licenses` returns as the `detail` of its 400 and entitlements quote in their errors.
public struct LicenseError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not three base64url parts of JSON.
        case malformed
        case unsupportedAlgorithm
        case missingKeyID
        case unknownKeyID
        case expired
        case usedBeforeIssued
        /// `nbf` is later than now: Coder's entitlements skip such a license silently.
        case notValidYet
        case badSignature
        case invalidVersion
        case missingLicenseExpires
        /// A time claim names no instant between the years 0001 and 9999 (`License.representableSeconds`).
        case outOfRange
        /// The key is trusted for short trials only and the license is not one.
        case trialKeyMisuse
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

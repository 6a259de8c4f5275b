import Crypto
import Foundation
import WireFormat

/// Signs licenses with an Ed25519 private key: for `coordinator license issue`, for the
/// deployment's own trial, and for tests. The output is a compact JWS any EdDSA verifier reads.
public struct LicenseIssuer: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey
    public let keyID: String

    public init(privateKey: Curve25519.Signing.PrivateKey, keyID: String) {
        self.privateKey = privateKey
        self.keyID = keyID
    }

    /// Refuses (`LicenseError.Kind.outOfRange`) claims whose times no verifier would accept.
    public func issue(_ claims: LicenseClaims) throws -> String {
        try claims.checkTimes()
        return try sign(claims.json)
    }

    /// Signs any claims as given, for tests of what the verifier refuses.
    public func sign(_ claims: [String: JSONValue], header extra: [String: JSONValue] = [:]) throws -> String {
        var header: [String: JSONValue] = ["alg": .string("EdDSA"), "kid": .string(keyID), "typ": .string("JWT")]
        header.merge(extra) { _, new in new }
        let signingInput = Base64.urlEncode(try WireJSON.encode(JSONValue.object(header))) + "."
            + Base64.urlEncode(try WireJSON.encode(JSONValue.object(claims)))
        let signature = try privateKey.signature(for: Data(signingInput.utf8))
        return signingInput + "." + Base64.urlEncode(signature)
    }
}

/// The claims of a license we issue: Coder's v3 claims, with every time claim set so that
/// current Coder's stricter checks (`iat`, `nbf`, account fields) would pass too.
public struct LicenseClaims: Sendable, Equatable {
    public var id = UUID()
    public var subject = ""
    public var accountType = "coordinator"
    public var accountID = ""
    public var issuedAt: Date
    public var notBefore: Date
    /// The end of the paid term; the grace period runs from here to `graceEnds` (`exp`).
    public var licenseExpires: Date
    public var graceEnds: Date
    public var trial = false
    /// `feature_set: enterprise` (and the deprecated `all_features: true` that v0.17 reads).
    public var allFeatures = false
    public var features: [String: Int64] = [:]
    public var requireTelemetry = false
    public var deploymentIDs: [String] = []

    public init(issuedAt: Date, licenseExpires: Date, graceEnds: Date) {
        self.issuedAt = issuedAt
        self.notBefore = issuedAt
        self.licenseExpires = licenseExpires
        self.graceEnds = graceEnds
    }

    /// Every time claim between the years 0001 and 9999, as the verifier requires.
    public func checkTimes() throws(LicenseError) {
        let times = [("iat", issuedAt), ("nbf", notBefore), ("exp", graceEnds), ("license_expires", licenseExpires)]
        for (claim, date) in times {
            let seconds = date.timeIntervalSince1970.rounded(.down)
            guard License.claimDate(seconds: seconds) != nil else { throw License.outOfRange(claim, "\(seconds)") }
        }
    }

    /// The claims as signed. A time outside Int64 is written as a double rather than trapping
    /// (`issue` refuses such claims before they get here).
    public var json: [String: JSONValue] {
        func seconds(_ date: Date) -> JSONValue {
            let whole = date.timeIntervalSince1970.rounded(.down)
            return Int64(exactly: whole).map(JSONValue.int) ?? .double(whole)
        }
        var claims: [String: JSONValue] = [
            "jti": .string(id.uuidString.lowercased()),
            "iat": seconds(issuedAt),
            "nbf": seconds(notBefore),
            "exp": seconds(graceEnds),
            "license_expires": seconds(licenseExpires),
            "version": .int(3),
            "trial": .bool(trial),
            "features": .object(features.mapValues { .int($0) }),
        ]
        if !subject.isEmpty { claims["sub"] = .string(subject) }
        if !accountType.isEmpty { claims["account_type"] = .string(accountType) }
        if !accountID.isEmpty { claims["account_id"] = .string(accountID) }
        if allFeatures {
            claims["all_features"] = .bool(true)
            claims["feature_set"] = .string("enterprise")
        }
        if requireTelemetry { claims["require_telemetry"] = .bool(true) }
        if !deploymentIDs.isEmpty { claims["deployment_ids"] = .array(deploymentIDs.map { .string($0) }) }
        return claims
    }
}

/// Private keys on disk: PKCS #8 PEM, as `openssl genpkey -algorithm ed25519` writes them,
/// so that an operator can sign with other tools too.
public enum LicenseSigningKey {
    public static func generate() -> Curve25519.Signing.PrivateKey {
        Curve25519.Signing.PrivateKey()
    }

    public static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        key.pemRepresentation + "\n"
    }

    /// A PEM file's text, or 32 raw bytes (the seed) in base64.
    public static func read(_ text: String) throws(LicenseKeyError) -> Curve25519.Signing.PrivateKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let raw = Base64.decode(trimmed), raw.count == 32,
           let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) {
            return key
        }
        do {
            return try Curve25519.Signing.PrivateKey(pemRepresentation: trimmed)
        } catch {
            throw LicenseKeyError("not an Ed25519 private key in PEM (or 32 bytes of base64)")
        }
    }
}

import Crypto
import Foundation
import JWTKit
import WireFormat

/// Verifies license JWTs against a key ring, in the order and with the messages of Coder's
/// `license.ParseClaims` (golang-jwt v4 underneath): structure, `alg`, `kid`, the time claims,
/// the signature (whose failure replaces a time-claim message, as golang-jwt's does), then
/// `version` and `license_expires`. Time is passed in; nothing here reads the clock.
public struct LicenseVerifier: Sendable {
    public let keyRing: LicenseKeyRing

    /// Longest trial a trial-only key may sign, from `nbf` (or `iat`) to `exp`.
    public static let maximumTrial: TimeInterval = 30 * 86_400

    public init(keyRing: LicenseKeyRing) {
        self.keyRing = keyRing
    }

    public func verify(_ jwt: String, now: Date) throws(LicenseError) -> License {
        try verify(jwt, now: now, allowingFutureStart: false)
    }

    /// `allowingFutureStart` accepts a license whose `nbf` is still ahead, as `POST /licenses`
    /// does in current Coder (an administrator uploads next year's license early).
    public func verify(_ jwt: String, now: Date, allowingFutureStart: Bool) throws(LicenseError) -> License {
        let token = try Token(jwt)
        // golang-jwt decodes the claims into Coder's struct before it looks at the algorithm.
        let fields = try ClaimFields(token.claims)

        // golang-jwt refuses an unknown algorithm before asking for a key, and Coder allows EdDSA only.
        guard let name = token.header["alg"]?.string else {
            throw LicenseError(.unsupportedAlgorithm, "signing method (alg) is unspecified.")
        }
        guard Self.goAlgorithms.contains(name) else {
            throw LicenseError(.unsupportedAlgorithm, "signing method (alg) is unavailable.")
        }
        guard name == "EdDSA" else {
            throw LicenseError(.unsupportedAlgorithm, "signing method \(name) is invalid")
        }
        guard let kid = token.header["kid"]?.string else {
            throw LicenseError(.missingKeyID, "JOSE header must contain kid")
        }
        guard let key = keyRing[kid] else {
            throw LicenseError(.unknownKeyID, "no key with ID \(kid)")
        }

        // Forgiving a future start forgives nothing else the time claims say.
        let timeError = timeClaimsErrors(fields, now: now).last { !(allowingFutureStart && $0.kind == .notValidYet) }

        // The signature is checked last of golang-jwt's steps, and its failure is the message shown.
        let signature: Data
        switch Base64.decodeSegment(token.signatureSegment) {
        case .success(let data): signature = data
        case .failure(let error): throw LicenseError(.badSignature, error.message)
        }
        guard key.publicKey.isValidSignature(signature, for: Data(token.signingInput.utf8)) else {
            throw LicenseError(.badSignature, "ed25519: verification error")
        }
        if let timeError { throw timeError }

        guard fields.version == 3 else {
            throw LicenseError(.invalidVersion, "license must be version 3")
        }
        guard let licenseExpires = fields.licenseExpires else {
            throw LicenseError(.missingLicenseExpires, "license missing license_expires")
        }
        let license = License(
            claims: token.claims, keyID: kid, id: fields.id, subject: fields.subject,
            accountType: fields.accountType, accountID: fields.accountID,
            issuedAt: fields.issuedAt, notBefore: fields.notBefore, graceEnds: fields.expires,
            licenseExpires: licenseExpires, trial: fields.trial, allFeatures: fields.allFeatures,
            featureSet: fields.featureSet, features: fields.features, deploymentIDs: fields.deploymentIDs,
            requireTelemetry: fields.requireTelemetry, version: fields.version
        )
        if key.trialOnly { try checkTrial(license, kid: kid) }
        return license
    }

    /// The claims of a stored license, read without checking anything (as `GET /licenses`
    /// shows them: expired licenses and those of unknown keys are listed too).
    public static func unverifiedClaims(of jwt: String) throws(LicenseError) -> [String: JSONValue] {
        try Token(jwt).claims
    }

    /// The algorithms golang-jwt v4 registers: others are "unavailable", these "invalid".
    private static let goAlgorithms: Set<String> = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
        "PS256", "PS384", "PS512", "EdDSA", "none",
    ]

    /// golang-jwt v4 `RegisteredClaims.Valid`, every check that fails in its order: each one
    /// overwrites the message of the one before, so the last is shown (`nbf` beats `iat`, which
    /// beats `exp`). Bounds are inclusive as there.
    private func timeClaimsErrors(_ fields: ClaimFields, now: Date) -> [LicenseError] {
        var errors: [LicenseError] = []
        if let exp = fields.expires, !(now < exp) {
            // Saturating, as Go's time.Sub does: an `exp` in the year 0001 is 6e19 ns ago, past Int64.
            let delta = (now.timeIntervalSince(exp) * 1e9).rounded()
            let nanoseconds = delta < 9.2e18 ? Int64(delta) : .max
            errors.append(LicenseError(.expired, "token is expired by \(GoDuration.string(nanoseconds: nanoseconds))"))
        }
        if let iat = fields.issuedAt, now < iat {
            errors.append(LicenseError(.usedBeforeIssued, "token used before issued"))
        }
        if let nbf = fields.notBefore, now < nbf {
            errors.append(LicenseError(.notValidYet, "token is not valid yet"))
        }
        return errors
    }

    private func checkTrial(_ license: License, kid: String) throws(LicenseError) {
        let refusal = LicenseError(.trialKeyMisuse, "key \(kid) signs only trial licenses of at most 30 days")
        guard license.trial, let end = license.graceEnds, let start = license.notBefore ?? license.issuedAt,
              end.timeIntervalSince(start) <= Self.maximumTrial
        else { throw refusal }
    }
}

/// The three parts of a compact JWS, decoded, with golang-jwt v4's messages for what fails.
private struct Token {
    let header: [String: JSONValue]
    let claims: [String: JSONValue]
    let signatureSegment: Substring
    let signingInput: Substring

    init(_ jwt: String) throws(LicenseError) {
        // jwt-kit's splitter: three parts or it refuses the token.
        let parts: (header: ArraySlice<UInt8>, payload: ArraySlice<UInt8>, signature: ArraySlice<UInt8>)
        do {
            parts = try DefaultJWTParser().getTokenParts(Array(jwt.utf8))
        } catch {
            throw LicenseError(.malformed, "token contains an invalid number of segments")
        }
        let headerText = Substring(decoding: parts.header, as: UTF8.self)
        let payloadText = Substring(decoding: parts.payload, as: UTF8.self)
        header = try Self.object(headerText, bearerHint: jwt)
        claims = try Self.object(payloadText, bearerHint: nil)
        signatureSegment = Substring(decoding: parts.signature, as: UTF8.self)
        signingInput = Substring(jwt.utf8.prefix(parts.header.count + 1 + parts.payload.count))
    }

    private static func object(_ segment: Substring, bearerHint: String?) throws(LicenseError) -> [String: JSONValue] {
        let data: Data
        switch Base64.decodeSegment(segment) {
        case .success(let decoded): data = decoded
        case .failure(let error):
            if let bearerHint, bearerHint.lowercased().hasPrefix("bearer ") {
                throw LicenseError(.malformed, "tokenstring should not contain 'bearer '")
            }
            throw LicenseError(.malformed, error.message)
        }
        do {
            guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: data) else {
                throw LicenseError(.malformed, "json: cannot unmarshal into Go value of type map[string]interface {}")
            }
            return object
        } catch let error as LicenseError {
            throw error
        } catch {
            throw LicenseError(.malformed, "invalid character in JSON")
        }
    }
}

/// The claims Coder's `license.Claims` struct declares, read with encoding/json's rules: a
/// field of the wrong JSON type fails the whole token with Go's message, `null` is absent.
private struct ClaimFields {
    var id, subject, accountType, accountID: String?
    var featureSet = ""
    var issuedAt, notBefore, expires, licenseExpires: Date?
    var trial = false, allFeatures = false, requireTelemetry = false
    var version: Int64 = 0
    var features: [String: Int64] = [:]
    var deploymentIDs: [String] = []

    init(_ claims: [String: JSONValue]) throws(LicenseError) {
        func present(_ name: String) -> JSONValue? {
            guard let value = claims[name], value != .null else { return nil }
            return value
        }
        func mismatch(_ value: JSONValue, _ field: String, _ goType: String) -> LicenseError {
            LicenseError(.malformed, "json: cannot unmarshal \(value.goKind) into Go struct field Claims.\(field) of type \(goType)")
        }
        func string(_ name: String) throws(LicenseError) -> String? {
            guard let value = present(name) else { return nil }
            guard let text = value.string else { throw mismatch(value, name, "string") }
            return text
        }
        func bool(_ name: String) throws(LicenseError) -> Bool {
            guard let value = present(name) else { return false }
            guard let flag = value.bool else { throw mismatch(value, name, "bool") }
            return flag
        }
        // golang-jwt's NumericDate: a JSON number of seconds, truncated to whole seconds. Ours
        // must also name a time between the years 0001 and 9999 (Go would wrap 1e300 silently;
        // we would trap formatting it): a license is refused for it, with the claim named.
        func date(_ name: String) throws(LicenseError) -> Date? {
            guard let value = present(name) else { return nil }
            guard let seconds = value.number else {
                throw LicenseError(.malformed, "could not parse NumericData: json: cannot unmarshal \(value.goKind) into Go value of type json.Number")
            }
            guard let date = License.claimDate(seconds: seconds) else {
                throw License.outOfRange(name, value.integer.map { String($0) } ?? "\(seconds)")
            }
            return date
        }

        id = try string("jti")
        subject = try string("sub")
        _ = try string("iss")
        accountType = try string("account_type")
        accountID = try string("account_id")
        featureSet = try string("feature_set") ?? ""
        issuedAt = try date("iat")
        notBefore = try date("nbf")
        expires = try date("exp")
        licenseExpires = try date("license_expires")
        trial = try bool("trial")
        allFeatures = try bool("all_features")
        requireTelemetry = try bool("require_telemetry")
        if let value = present("version") {
            guard let number = value.integer, number >= 0 else { throw mismatch(value, "version", "uint64") }
            version = number
        }
        if let value = present("features") {
            guard case .object(let map) = value else { throw mismatch(value, "features", "license.Features") }
            for (name, count) in map where count != .null {
                guard let number = count.integer else { throw mismatch(count, "features", "int64") }
                features[name] = number
            }
        }
        if let value = present("deployment_ids") {
            guard case .array(let items) = value else { throw mismatch(value, "deployment_ids", "[]string") }
            for item in items {
                guard let text = item.string else { throw mismatch(item, "deployment_ids", "string") }
                deploymentIDs.append(text)
            }
        }
    }
}

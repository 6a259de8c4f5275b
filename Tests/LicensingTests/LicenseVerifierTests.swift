import Crypto
import Foundation
import JWTKit
import Licensing
import Testing
import WireFormat

struct RefusalCase: Sendable, CustomTestStringConvertible {
    let name: String
    let token: String
    let message: String
    var testDescription: String { name }
}

/// Every refusal, with Coder's message (golang-jwt v4's for the JWT layer).
let refusals: [RefusalCase] = {
    let sign = { (claims: [String: JSONValue], header: [String: JSONValue]) in try! issuer.sign(claims, header: header) }
    let valid = sign(claims(), [:])
    let parts = valid.split(separator: ".")
    let forged = try! LicenseIssuer(privateKey: otherKey, keyID: "test-key").sign(claims())
    let trialIssuer = LicenseIssuer(privateKey: otherKey, keyID: "trial-key")
    return [
        RefusalCase(name: "two segments", token: "\(parts[0]).\(parts[1])", message: "token contains an invalid number of segments"),
        RefusalCase(name: "header not base64url", token: "a*b.\(parts[1]).\(parts[2])", message: "illegal base64 data at input byte 1"),
        RefusalCase(name: "no alg", token: sign(claims(), ["alg": .null]), message: "signing method (alg) is unspecified."),
        RefusalCase(name: "alg golang-jwt lacks", token: sign(claims(), ["alg": .string("Ed448")]), message: "signing method (alg) is unavailable."),
        RefusalCase(name: "alg other than EdDSA", token: sign(claims(), ["alg": .string("HS256")]), message: "signing method HS256 is invalid"),
        RefusalCase(name: "no kid", token: sign(claims(), ["kid": .null]), message: "JOSE header must contain kid"),
        RefusalCase(name: "kid not a string", token: sign(claims(), ["kid": .int(1)]), message: "JOSE header must contain kid"),
        RefusalCase(name: "unknown kid", token: sign(claims(), ["kid": .string("nope")]), message: "no key with ID nope"),
        RefusalCase(name: "another key under a known kid", token: forged, message: "ed25519: verification error"),
        RefusalCase(name: "payload changed after signing", token: "\(parts[0]).\(sign(claims { $0["trial"] = .bool(true) }, [:]).split(separator: ".")[1]).\(parts[2])", message: "ed25519: verification error"),
        RefusalCase(name: "signature not base64url", token: "\(parts[0]).\(parts[1]).!!", message: "illegal base64 data at input byte 0"),
        RefusalCase(name: "expired an hour ago", token: sign(claims { $0["exp"] = .int(seconds(now - 3600)) }, [:]), message: "token is expired by 1h0m0s"),
        RefusalCase(name: "expiring this very second", token: sign(claims { $0["exp"] = .int(seconds(now)) }, [:]), message: "token is expired by 0s"),
        // Go's time.Sub saturates, and so do we: the year 0001 is further back than Int64 nanoseconds reach.
        RefusalCase(name: "expired in the year 0001", token: sign(claims { $0["exp"] = .int(-62_135_596_800) }, [:]), message: "token is expired by 2562047h47m16.854775807s"),
        // Time claims outside the years 0001 to 9999 (issue #20): refused with the claim named, never a trap.
        RefusalCase(name: "exp of 1e300", token: sign(claims { $0["exp"] = .double(1e300) }, [:]), message: "exp claim out of range: 1e+300 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "exp before time began", token: sign(claims { $0["exp"] = .double(-1e20) }, [:]), message: "exp claim out of range: -1e+20 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "exp a second after 9999", token: sign(claims { $0["exp"] = .int(253_402_300_800) }, [:]), message: "exp claim out of range: 253402300800 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "nbf of -1e300", token: sign(claims { $0["nbf"] = .double(-1e300) }, [:]), message: "nbf claim out of range: -1e+300 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "nbf a second before 0001", token: sign(claims { $0["nbf"] = .int(-62_135_596_801) }, [:]), message: "nbf claim out of range: -62135596801 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "iat of 1e308", token: sign(claims { $0["iat"] = .double(1e308) }, [:]), message: "iat claim out of range: 1e+308 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "iat of Int64.max", token: sign(claims { $0["iat"] = .int(.max) }, [:]), message: "iat claim out of range: 9223372036854775807 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "license_expires of 1e300", token: sign(claims { $0["license_expires"] = .double(1e300) }, [:]), message: "license_expires claim out of range: 1e+300 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "license_expires of Int64.min", token: sign(claims { $0["license_expires"] = .int(.min) }, [:]), message: "license_expires claim out of range: -9223372036854775808 is not a time between the years 0001 and 9999"),
        RefusalCase(name: "issued in the future", token: sign(claims { $0["iat"] = .int(seconds(now + 60)) }, [:]), message: "token used before issued"),
        RefusalCase(name: "not valid yet", token: sign(claims { $0["nbf"] = .int(seconds(now + 60)) }, [:]), message: "token is not valid yet"),
        RefusalCase(name: "not valid yet beats expired", token: sign(claims { $0["nbf"] = .int(seconds(now + 60)); $0["exp"] = .int(seconds(now - 60)) }, [:]), message: "token is not valid yet"),
        RefusalCase(name: "a bad signature beats expired", token: "\(sign(claims { $0["exp"] = .int(seconds(now - 60)) }, [:]).split(separator: ".").prefix(2).joined(separator: ".")).\(parts[2])", message: "ed25519: verification error"),
        RefusalCase(name: "exp not a number", token: sign(claims { $0["exp"] = .string("tomorrow") }, [:]), message: "could not parse NumericData: json: cannot unmarshal string into Go value of type json.Number"),
        RefusalCase(name: "trial not a bool", token: sign(claims { $0["trial"] = .string("yes") }, [:]), message: "json: cannot unmarshal string into Go struct field Claims.trial of type bool"),
        RefusalCase(name: "version 2", token: sign(claims { $0["version"] = .int(2) }, [:]), message: "license must be version 3"),
        RefusalCase(name: "no version", token: sign(claims { $0["version"] = nil }, [:]), message: "license must be version 3"),
        RefusalCase(name: "no license_expires", token: sign(claims { $0["license_expires"] = nil }, [:]), message: "license missing license_expires"),
        RefusalCase(name: "trial key, full license", token: try! trialIssuer.sign(claims()), message: "key trial-key signs only trial licenses of at most 30 days"),
        RefusalCase(name: "trial key, 31-day trial", token: try! trialIssuer.sign(claims {
            $0["trial"] = .bool(true); $0["exp"] = .int(seconds(now + 21 * day)); $0["license_expires"] = .int(seconds(now + 21 * day))
        }), message: "key trial-key signs only trial licenses of at most 30 days"),
    ]
}()

@Suite struct LicenseVerifierTests {
    @Test(arguments: refusals) func refuses(_ refusal: RefusalCase) {
        #expect(throws: LicenseError.self) { try verifier.verify(refusal.token, now: now) }
        do {
            _ = try verifier.verify(refusal.token, now: now)
        } catch {
            #expect(error.message == refusal.message)
        }
    }

    @Test func readsTheClaimsOfAValidLicense() throws {
        let license = try verifier.verify(try issuer.sign(claims { $0["all_features"] = .bool(true); $0["account_id"] = .string("acme") }), now: now)
        #expect(license.keyID == "test-key")
        #expect(license.uuid == UUID(uuidString: "11111111-2222-3333-4444-555555555555"))
        #expect(license.features == ["user_limit": 10, "audit_log": 1])
        #expect(license.userLimit == 10)
        #expect(license.allFeatures && license.effectiveFeatureSet == "enterprise")
        #expect(license.accountID == "acme")
        #expect(license.licenseExpires == Date(timeIntervalSince1970: TimeInterval(seconds(now + 355 * day))))
        #expect(license.graceEnds == Date(timeIntervalSince1970: TimeInterval(seconds(now + 385 * day))))
        #expect(license.claims["version"] == .int(3))
        #expect(license.claims["all_features"] == .bool(true))
    }

    @Test func timeClaimsAtTheEdgesOfTheYears0001To9999Verify() throws {
        let token = try issuer.sign(claims {
            $0["iat"] = .int(-62_135_596_800); $0["nbf"] = .double(-62_135_596_800.9)
            $0["license_expires"] = .int(253_402_300_799); $0["exp"] = .double(253_402_300_799.9)
        })
        let license = try verifier.verify(token, now: now)
        #expect(license.notBefore == Date(timeIntervalSince1970: -62_135_596_800))
        #expect(license.graceEnds == Date(timeIntervalSince1970: 253_402_300_799))
        // What the product does with such dates does not trap either.
        #expect(RFC3339.string(from: license.graceEnds!) == "9999-12-31T23:59:59.000000Z")
        #expect(RFC3339.string(from: license.notBefore!) == "0001-01-01T00:00:00.000000Z")
        let entitlements = Entitlements.compute(licenses: [.valid(license)], activeUserCount: 1, replicaCount: 1, enablements: [:], now: now)
        #expect(entitlements.hasLicense && entitlements.warnings.isEmpty)
    }

    @Test func anOutOfRangeClaimIsAnInvalidStandingNotATrap() throws {
        let token = try issuer.sign(claims { $0["exp"] = .double(1e300) })
        let uuid = UUID()
        #expect(verifier.standing(of: token, uuid: uuid, now: now) == .invalid(uuid: uuid, reason: "exp claim out of range: 1e+300 is not a time between the years 0001 and 9999"))
        #expect(throws: LicenseError(.outOfRange, "exp claim out of range: 1e+300 is not a time between the years 0001 and 9999")) {
            try verifier.verify(token, now: now, allowingFutureStart: true)
        }
    }

    /// Counts at the ends of Int64 verify as they are; nothing adds them up, so two such licenses
    /// compute without overflow, and the higher limit wins.
    @Test func featureCountsOfInt64MaxInTwoLicensesDoNotTrap() throws {
        let big = try verifier.verify(try issuer.sign(claims {
            $0["features"] = .object(["user_limit": .int(.max), "audit_log": .int(.max), "scim": .int(.min)])
        }), now: now)
        #expect(big.features == ["user_limit": Int64.max, "audit_log": Int64.max, "scim": Int64.min])
        let again = try verifier.verify(try issuer.sign(claims {
            $0["jti"] = .string(UUID().uuidString.lowercased())
            $0["features"] = .object(["user_limit": .int(.max), "audit_log": .int(.max), "template_rbac": .int(.max)])
        }), now: now)
        let result = Entitlements.compute(
            licenses: [.valid(big), .valid(again)], activeUserCount: .max, replicaCount: 1, enablements: [:], now: now
        )
        #expect(result[.userLimit].limit == Int64.max)
        #expect(result[.userLimit].actual == Int64.max)
        #expect(result[.auditLog].entitlement == .entitled)
        #expect(result[.templateRBAC].entitlement == .entitled)
        // A count of zero or less grants nothing.
        #expect(result[.scim].entitlement == .notEntitled)
        #expect(result.warnings.isEmpty)
    }

    /// The issuer refuses what the verifier would (and its JSON does not trap on such a date).
    @Test func theIssuerRefusesTimesOutsideTheYears0001To9999() throws {
        let huge = LicenseClaims(issuedAt: now, licenseExpires: now + 365 * day, graceEnds: Date(timeIntervalSince1970: 1e300))
        #expect(throws: LicenseError(.outOfRange, "exp claim out of range: 1e+300 is not a time between the years 0001 and 9999")) {
            try issuer.issue(huge)
        }
        #expect(huge.json["exp"] == .double(1e300))
        var early = LicenseClaims(issuedAt: now, licenseExpires: now + day, graceEnds: now + day)
        early.notBefore = Date(timeIntervalSince1970: -1e20)
        #expect(throws: LicenseError.self) { try issuer.issue(early) }
    }

    @Test func aLicenseInItsGracePeriodStillVerifies() throws {
        let token = try issuer.sign(claims { $0["license_expires"] = .int(seconds(now - day)) })
        #expect(try verifier.verify(token, now: now).licenseExpires < now)
    }

    @Test func aFutureStartIsAcceptedWhenAskedAndNothingElseIsForgiven() throws {
        let pending = try issuer.sign(claims { $0["nbf"] = .int(seconds(now + day)) })
        #expect(try verifier.verify(pending, now: now, allowingFutureStart: true).notBefore! > now)
        let pendingAndExpired = try issuer.sign(claims { $0["nbf"] = .int(seconds(now + day)); $0["exp"] = .int(seconds(now - 1)) })
        #expect(throws: LicenseError(.expired, "token is expired by 1s")) {
            try verifier.verify(pendingAndExpired, now: now, allowingFutureStart: true)
        }
    }

    @Test func theTrialKeyVerifiesA30DayTrial() throws {
        let token = try LicenseIssuer(privateKey: otherKey, keyID: "trial-key").sign(claims {
            $0["trial"] = .bool(true)
            $0["nbf"] = .int(seconds(now)); $0["iat"] = .int(seconds(now))
            $0["license_expires"] = .int(seconds(now + 30 * day)); $0["exp"] = .int(seconds(now + 30 * day))
        })
        #expect(try verifier.verify(token, now: now).trial)
    }

    @Test func aLicenseSignedByPythonsCryptographyVerifies() throws {
        var ring = LicenseKeyRing()
        try ring.add(flag: try fixture("python_public_key.txt"))
        let license = try LicenseVerifier(keyRing: ring).verify(try fixture("python_license.jwt"), now: now)
        #expect(license.keyID == "python-2025")
        #expect(license.accountID == "acme-001")
        #expect(license.userLimit == 100)
        #expect(license.effectiveFeatureSet == "enterprise")
        // Claims this version does not know are kept verbatim, numbers as numbers.
        #expect(license.claims["unknown_future_claim"] == .object(["nested": .array([.int(1), .double(2.5), .string("x")])]))
        #expect(license.claims["iat"] == .int(1_735_689_600))
    }

    @Test func thePythonLicenseVerifiesWithThePEMFileToo() throws {
        var ring = LicenseKeyRing()
        try ring.add(flag: "python-2025=\(fixturePath("python_public_key.pem"))")
        #expect(try LicenseVerifier(keyRing: ring).verify(try fixture("python_license.jwt"), now: now).subject == "python@example.com")
    }

    /// What we issue, jwt-kit's own verifier accepts (its collection is async; ours need not be).
    @Test func jwtKitVerifiesWhatTheIssuerSigns() async throws {
        let keys = JWTKeyCollection()
        await keys.add(eddsa: EdDSA.PublicKey(backing: signingKey.publicKey), kid: "test-key")
        var licenseClaims = LicenseClaims(issuedAt: now, licenseExpires: now + 365 * day, graceEnds: now + 395 * day)
        licenseClaims.features = ["user_limit": 5]
        let token = try issuer.issue(licenseClaims)
        struct Payload: JWTPayload {
            let version: Int
            let features: [String: Int64]
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let payload = try await keys.verify(token, as: Payload.self)
        #expect(payload.version == 3 && payload.features == ["user_limit": 5])
    }
}

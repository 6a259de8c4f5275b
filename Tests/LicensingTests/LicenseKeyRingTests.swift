import Crypto
import Foundation
import Licensing
import Testing

@Suite struct LicenseKeyRingTests {
    static let raw = signingKey.publicKey.rawRepresentation
    static let standard = raw.base64EncodedString()
    static let url = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")

    /// The key as base64 in every spelling an operator might paste.
    @Test(arguments: [
        standard,
        standard.replacingOccurrences(of: "=", with: ""),
        url,
        url.replacingOccurrences(of: "=", with: ""),
        "  \(standard)  ",
    ])
    func readsARawKeyInBase64(_ spelling: String) throws {
        let (kid, key) = try LicenseKeyRing.parseFlag("2026-01-01=\(spelling)", readFile: { _ in throw CocoaError(.fileNoSuchFile) })
        #expect(kid == "2026-01-01")
        #expect(key.rawRepresentation == Self.raw)
    }

    @Test func readsAPEMFile() throws {
        let pem = signingKey.publicKey.pemRepresentation
        let (kid, key) = try LicenseKeyRing.parseFlag("k=/etc/key.pem", readFile: { path in
            #expect(path == "/etc/key.pem")
            return pem
        })
        #expect(kid == "k" && key.rawRepresentation == Self.raw)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let flag: String
        let message: String
        var testDescription: String { flag }
    }

    @Test(arguments: [
        Bad(flag: "no-equals", message: "expected KID=KEY, got \"no-equals\""),
        Bad(flag: "=AAAA", message: "the key ID before \"=\" is empty"),
        Bad(flag: "k=", message: "the key for k is empty"),
        // 16 bytes of base64 is not a key, so it is taken for a path, which does not exist.
        Bad(flag: "k=AAAAAAAAAAAAAAAAAAAAAA==", message: "the key for k is neither 32 bytes of base64 nor a readable PEM file (AAAAAAAAAAAAAAAAAAAAAA==)"),
    ])
    func refuses(_ bad: Bad) {
        #expect(throws: LicenseKeyError(bad.message)) {
            try LicenseKeyRing.parseFlag(bad.flag, readFile: { _ in throw CocoaError(.fileNoSuchFile) })
        }
    }

    @Test func refusesAFileWithoutAPublicKey() {
        #expect(throws: LicenseKeyError("/k.pem does not hold an Ed25519 public key in PEM")) {
            try LicenseKeyRing.parseFlag("k=/k.pem", readFile: { _ in "not a pem" })
        }
    }

    @Test func theFlagValueReadsBack() throws {
        let flag = LicenseKeyRing.flagValue(kid: "k1", publicKey: signingKey.publicKey)
        #expect(try LicenseKeyRing.parseFlag(flag).key.rawRepresentation == Self.raw)
    }

    @Test func aPrivateKeyFileReadsBack() throws {
        let pem = LicenseSigningKey.pem(signingKey)
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try LicenseSigningKey.read(pem).rawRepresentation == signingKey.rawRepresentation)
        #expect(try LicenseSigningKey.read(signingKey.rawRepresentation.base64EncodedString()).rawRepresentation == signingKey.rawRepresentation)
        #expect(throws: LicenseKeyError.self) { try LicenseSigningKey.read("garbage") }
    }
}

@Suite struct FeatureSpecTests {
    @Test(arguments: [
        ("all", FeatureSpec(allFeatures: true)),
        ("template_rbac=1,scim=1", FeatureSpec(features: ["template_rbac": 1, "scim": 1])),
        ("all,user_limit=50", FeatureSpec(allFeatures: true, features: ["user_limit": 50])),
        (" audit_log=1 , ", FeatureSpec(features: ["audit_log": 1])),
    ])
    func parses(_ text: String, _ expected: FeatureSpec) throws {
        #expect(try FeatureSpec(parsing: text) == expected)
    }

    @Test(arguments: ["scim", "scim=x", "scim=-1", "sciim=1"])
    func refuses(_ text: String) {
        #expect(throws: LicenseKeyError.self) { try FeatureSpec(parsing: text) }
    }
}

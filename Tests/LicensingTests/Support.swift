import Crypto
import Foundation
import Licensing
import WireFormat

/// A fixed clock for every test: 2026-06-01T00:00:00Z.
let now = Date(timeIntervalSince1970: 1_780_272_000)
let day: TimeInterval = 86_400

/// Fixed keys, so a failure reproduces.
let signingKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 7, count: 32))
let otherKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 9, count: 32))
let issuer = LicenseIssuer(privateKey: signingKey, keyID: "test-key")

let verifier: LicenseVerifier = {
    var ring = LicenseKeyRing()
    ring.add(kid: "test-key", publicKey: signingKey.publicKey)
    ring.add(kid: "trial-key", publicKey: otherKey.publicKey, trialOnly: true)
    return LicenseVerifier(keyRing: ring)
}()

/// Valid v3 claims: issued 10 days ago, a year's term, 30 days of grace.
func claims(_ change: (inout [String: JSONValue]) -> Void = { _ in }) -> [String: JSONValue] {
    var claims: [String: JSONValue] = [
        "jti": .string("11111111-2222-3333-4444-555555555555"),
        "iat": .int(seconds(now - 10 * day)),
        "nbf": .int(seconds(now - 10 * day)),
        "license_expires": .int(seconds(now + 355 * day)),
        "exp": .int(seconds(now + 385 * day)),
        "version": .int(3),
        "trial": .bool(false),
        "features": .object(["user_limit": .int(10), "audit_log": .int(1)]),
    ]
    change(&claims)
    return claims
}

func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970) }

func fixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    return try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
}

func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

@testable import API
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Licensing
import Postgres
import Pubsub
import Store
import WireFormat

/// The key the licensed app trusts under `test-key`, and one it does not.
let licenseKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 7, count: 32))
let strangerKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 9, count: 32))
let licenseIssuer = LicenseIssuer(privateKey: licenseKey, keyID: "test-key")

/// A license from `test-key`: every feature, a year's term from now and 30 days of grace.
func licenseJWT(
    issuer: LicenseIssuer = licenseIssuer, userLimit: Int64? = nil, allFeatures: Bool = true,
    features: [String: Int64] = [:], _ change: (inout LicenseClaims) -> Void = { _ in }
) throws -> String {
    let now = Date()
    var claims = LicenseClaims(issuedAt: now.addingTimeInterval(-60), licenseExpires: now.addingTimeInterval(365 * 86_400), graceEnds: now.addingTimeInterval(395 * 86_400))
    claims.subject = "customer@example.com"
    claims.accountID = "acme"
    claims.allFeatures = allFeatures
    claims.features = features
    if let userLimit { claims.features["user_limit"] = userLimit }
    change(&claims)
    return try issuer.issue(claims)
}

/// The fixtures of the licensing tests: a license signed by Python's `cryptography`.
func licensingFixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../LicensingTests/Fixtures/\(name)").standardizedFileURL
    return try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Runs `body` against a router with licensing on a fresh, migrated database: `test-key` and
/// the Python fixture's key are trusted, with the deployment's own trial key. `pubsub`: the
/// router has a pubsub over the database (not running: it publishes, and so its authenticator
/// caches verified keys as a replica's does).
func withLicensedApp(
    enablements: [FeatureName: Bool] = [.auditLog: true, .templateRBAC: true, .externalProvisionerDaemons: true],
    scimKey: String? = nil, pubsub: Bool = false,
    _ body: @escaping @Sendable (TestClient, Store, LicensingServices) async throws -> Void
) async throws {
    let (database, store) = try await migratedStore()
    do {
        let identity = try await store.deploymentIdentity { Curve25519.Signing.PrivateKey().rawRepresentation }
        let trialKey = try Curve25519.Signing.PrivateKey(rawRepresentation: identity.trialSigningKey)
        var ring = LicenseKeyRing()
        ring.add(kid: "test-key", publicKey: licenseKey.publicKey)
        try ring.add(flag: try licensingFixture("python_public_key.txt"))
        ring.add(kid: "trial", publicKey: trialKey.publicKey, trialOnly: true)
        var enablements = enablements
        if scimKey != nil { enablements[.scim] = true }
        let entitlements = LiveEntitlements(configuration: .init(enablements: enablements), verifier: LicenseVerifier(keyRing: ring), store: store)
        try await entitlements.refresh()
        let appearance = LiveAppearance(store: store)
        try await appearance.reload()
        let services = LicensingServices(
            entitlements: entitlements, appearance: appearance, deploymentID: identity.id,
            trialIssuer: LicenseIssuer(privateKey: trialKey, keyID: "trial")
        )
        let publisher = pubsub ? Pubsub(listener: Listener(.init(connectionString: database.url)), pool: store.pool) : nil
        var configuration = APIServer.Configuration(version: "test", accessURL: "http://localhost", scimKey: scimKey)
        configuration.passwordHashing = .testCost
        let router = APIServer(store: store, configuration: configuration, pubsub: publisher, licensing: services).makeRouter()
        try await Application(router: router, logger: testLogger).test(.router) { client in
            try await body(TestClient(client: client), store, services)
        }
        await store.pool.close()
    } catch {
        await store.pool.close()
        throw error
    }
}

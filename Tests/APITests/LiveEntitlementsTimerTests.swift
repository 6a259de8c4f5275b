import Foundation
import Licensing
import Postgres
import Pubsub
import Store
import Testing
import TestSupport

/// What recomputes entitlements without any message: a license's own boundaries and the
/// periodic refresh (600 s in production, for the expiry warning's day count; short here).
@Suite struct LiveEntitlementsTimerTests {
    @Test func aTermEndingAndThePeriodicRefreshRecomputeWithoutAMessage() async throws {
        try await withMigratedStore { database, store in
            var ring = LicenseKeyRing()
            ring.add(kid: "test-key", publicKey: licenseKey.publicKey)
            let entitlements = LiveEntitlements(
                configuration: .init(enablements: [.templateRBAC: true], refreshInterval: 1),
                verifier: LicenseVerifier(keyRing: ring), store: store
            )
            // Its paid term ends in eight seconds (room for a loaded machine to set up before); its
            // grace lasts a day.
            let jwt = try licenseJWT(allFeatures: false, features: ["template_rbac": 1]) { claims in
                claims.licenseExpires = Date().addingTimeInterval(8)
                claims.graceEnds = Date().addingTimeInterval(86_400)
            }
            let verified = try LicenseVerifier(keyRing: ring).verify(jwt, now: Date())
            _ = try await store.addLicense(NewLicense(jwt: jwt, expires: try #require(verified.graceEnds), uuid: verified.uuid ?? UUID()))
            try await entitlements.refresh()
            try #require(entitlements.current[.templateRBAC].entitlement == .entitled, "set-up took longer than the license's term")

            let pubsub = Pubsub(listener: Listener(.init(connectionString: database.url)), pool: store.pool)
            let running = Task { await entitlements.run(pubsub: pubsub) }
            defer { running.cancel() }
            // No message is sent; pubsub does not even run. The term's end wakes the recomputation.
            try await eventually("the license in its grace period", timeout: .seconds(20)) {
                entitlements.current[.templateRBAC].entitlement == .gracePeriod
            }
            #expect(entitlements.isEnabled(.templateRBAC))
            // A user added behind its back (no announcement) is counted at the next periodic refresh.
            let before = entitlements.current[.userLimit].actual
            try await store.pool.query(
                "INSERT INTO users (id, email, username, hashed_password, created_at, updated_at) VALUES ($1, 'quiet@example.com', 'quiet', '', now(), now())",
                [UUID()]
            )
            try await eventually("the periodic refresh counts the new user", timeout: .seconds(20)) {
                entitlements.current[.userLimit].actual == (before ?? 0) + 1
            }
        }
    }
}

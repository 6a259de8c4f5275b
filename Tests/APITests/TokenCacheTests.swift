import Foundation
import Postgres
import Pubsub
import Store
import TestSupport
import Synchronization
import Testing
@testable import API

/// The authenticator's cache of verified keys: what it serves without the database, and every way
/// an entry leaves it (revocation here or on another replica, a status change, a resync, its age).
/// Keys are changed behind the authenticator's back, in the database, to show where an answer came from.
@Suite struct TokenCacheTests {
    /// A migrated database with one user holding `token`, and a pubsub over it (not running).
    struct Fixture {
        let store: Store
        let pubsub: Pubsub
        let listener: Listener
        let url: String
        let userID: UUID
        let token: String
        var keyID: String { String(token.prefix(10)) }

        static func make() async throws -> Fixture {
            let (database, store) = try await migratedStore()
            let (user, _) = try await store.createFirstUser(
                NewUser(email: "owner@example.com", username: "owner", hashedPassword: "unused", siteRoles: ["owner"], organizationID: nil),
                organizationName: "default"
            )
            let listener = Listener(.init(connectionString: database.url, initialBackoff: .milliseconds(20)))
            let pubsub = Pubsub(listener: listener, pool: store.pool)
            let token = try await Authenticator(store: store).issueKey(for: user.id, loginType: "password", lifetime: 3600)
            return Fixture(store: store, pubsub: pubsub, listener: listener, url: database.url, userID: user.id, token: token)
        }

        func close() async {
            await store.pool.close()
        }
    }

    /// Whether `token` authenticates, or how it is refused.
    func outcome(_ authenticator: Authenticator, _ token: String) async -> String {
        do {
            let subject = try await authenticator.authenticate(token: token)
            return "ok \(subject.username)"
        } catch let error as APIError {
            return "\(error.status.code) \(error.message)"
        } catch {
            return "\(error)"
        }
    }

    static let signedOut = "401 \(APIError.signedOut.message)"

    /// Runs `body` with pubsub and `authenticator`'s revocation follower running, once the
    /// follower is known to handle what is published (the LISTEN is in effect) and to have handled
    /// the first connection's resync.
    func following(_ fixture: Fixture, _ authenticator: Authenticator, _ body: () async throws -> Void) async throws {
        let running = Task { await fixture.pubsub.run() }
        let follower = Task { await authenticator.followRevocations() }
        let result: Result<Void, any Error>
        do {
            // A key cached, then deleted behind the cache's back, stops authenticating once the
            // follower has handled a revocation of it, and so everything before (the resync).
            let probe = try await authenticator.issueKey(for: fixture.userID, loginType: "password", lifetime: 3600)
            #expect(await outcome(authenticator, probe) == "ok owner")
            try await fixture.store.deleteAPIKey(id: String(probe.prefix(10)))
            try await eventually("the follower handles revocations") {
                try await fixture.pubsub.publish(Authenticator.keyRevokedChannel, String(probe.prefix(10)))
                return await outcome(authenticator, probe) == Self.signedOut
            }
            try await body()
            result = .success(())
        } catch {
            result = .failure(error)
        }
        running.cancel()
        follower.cancel()
        await running.value
        await follower.value
        try result.get()
    }

    @Test func aVerifiedKeyIsServedFromTheCache() async throws {
        let fixture = try await Fixture.make()
        let authenticator = Authenticator(store: fixture.store, pubsub: fixture.pubsub)
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        try await fixture.store.deleteAPIKey(id: fixture.keyID)
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        // The cached entry still checks the secret: the id alone does not get in.
        let wrongSecret = fixture.keyID + "-" + String(repeating: "x", count: 22)
        #expect(await outcome(authenticator, wrongSecret) == Self.signedOut)
        await fixture.close()
    }

    @Test func withoutPubsubNothingIsCached() async throws {
        // Nothing would tell this replica of a revocation elsewhere.
        let fixture = try await Fixture.make()
        let authenticator = Authenticator(store: fixture.store, pubsub: nil)
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        try await fixture.store.deleteAPIKey(id: fixture.keyID)
        #expect(await outcome(authenticator, fixture.token) == Self.signedOut)
        await fixture.close()
    }

    @Test func revokingAKeyDropsItAtOnce() async throws {
        let fixture = try await Fixture.make()
        let authenticator = Authenticator(store: fixture.store, pubsub: fixture.pubsub)
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        try await authenticator.revokeKey(id: fixture.keyID)
        #expect(await outcome(authenticator, fixture.token) == Self.signedOut)
        await fixture.close()
    }

    @Test func aStatusChangeDropsOnlyThatUsersKeys() async throws {
        let fixture = try await Fixture.make()
        let authenticator = Authenticator(store: fixture.store, pubsub: fixture.pubsub)
        let member = try await fixture.store.createUser(
            NewUser(email: "member@example.com", username: "member", hashedPassword: "unused", organizationID: nil)
        )
        let memberToken = try await authenticator.issueKey(for: member.id, loginType: "password", lifetime: 3600)
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        #expect(await outcome(authenticator, memberToken) == "ok member")
        _ = try await fixture.store.setUserStatus(id: fixture.userID, .suspended)
        _ = try await fixture.store.setUserStatus(id: member.id, .suspended)
        // Only the member's change is announced: the owner's entry stays, the member's is re-read.
        await authenticator.userChanged(member.id)
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        #expect(await outcome(authenticator, memberToken).hasPrefix("401 User is not active"))
        await fixture.close()
    }

    /// Finding 7 of issue 20: one path for every suspension. A status written by any statement —
    /// here the store's, with no request and no announcement of ours — reaches the cache, because
    /// the database announces it in the transaction that makes it.
    @Test func aStatusChangedByAnyPathReachesTheCache() async throws {
        let fixture = try await Fixture.make()
        let authenticator = Authenticator(store: fixture.store, pubsub: fixture.pubsub)
        try await following(fixture, authenticator) {
            #expect(await outcome(authenticator, fixture.token) == "ok owner")
            _ = try await fixture.store.setUserStatus(id: fixture.userID, .suspended)
            try await eventually("the database's notice reached the cache") {
                await outcome(authenticator, fixture.token).hasPrefix("401 User is not active")
            }
        }
        await fixture.close()
    }

    @Test func aRevocationOnAnotherReplicaReachesTheCache() async throws {
        let fixture = try await Fixture.make()
        let here = Authenticator(store: fixture.store, pubsub: fixture.pubsub)
        // Another replica: the same database, a pubsub of its own (publishing is all it does here).
        let elsewhere = Authenticator(store: fixture.store, pubsub: Pubsub(listener: Listener(.init(connectionString: fixture.url)), pool: fixture.store.pool))
        try await following(fixture, here) {
            #expect(await outcome(here, fixture.token) == "ok owner")
            try await elsewhere.revokeKey(id: fixture.keyID)
            try await eventually("the revocation reached this replica") {
                await outcome(here, fixture.token) == Self.signedOut
            }
        }
        await fixture.close()
    }

    @Test func aResyncClearsTheCache() async throws {
        // Messages may have been lost while the connection was down: nothing cached is trusted.
        let fixture = try await Fixture.make()
        let authenticator = Authenticator(store: fixture.store, pubsub: fixture.pubsub)
        try await following(fixture, authenticator) {
            #expect(await outcome(authenticator, fixture.token) == "ok owner")
            try await fixture.store.deleteAPIKey(id: fixture.keyID)
            #expect(await outcome(authenticator, fixture.token) == "ok owner")
            _ = try await TestDatabase.admin("SELECT pg_terminate_backend($1)", [fixture.listener.backendPID])
            try await eventually("the resync cleared the cache") {
                await outcome(authenticator, fixture.token) == Self.signedOut
            }
        }
        await fixture.close()
    }

    @Test func anEntryIsReadAgainOnceItIsOlderThanTheCacheLifetime() async throws {
        let fixture = try await Fixture.make()
        let clock = Mutex(Date())
        let authenticator = Authenticator(store: fixture.store, pubsub: fixture.pubsub, cacheLifetime: 60, now: { clock.withLock { $0 } })
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        try await fixture.store.deleteAPIKey(id: fixture.keyID)
        // Within the lifetime the entry answers without the database…
        clock.withLock { $0 += 59 }
        #expect(await outcome(authenticator, fixture.token) == "ok owner")
        // …and once it is older, the key is read again and found gone.
        clock.withLock { $0 += 2 }
        #expect(await outcome(authenticator, fixture.token) == Self.signedOut)
        await fixture.close()
    }
}

import Foundation
import Postgres
import Store
import TestSupport
import Testing

/// Licenses, the deployment's identity and the appearance: stored, announced in the same
/// transaction, and counted as the entitlements need.
@Suite struct LicenseStoreTests {
    func new(_ jwt: String = "a.b.c", expires: Date = Date().addingTimeInterval(86_400)) -> NewLicense {
        NewLicense(jwt: jwt, expires: expires, uuid: UUID())
    }

    @Test func changesAreAnnouncedWhenTheyCommit() async throws {
        try await withStore { store, db in
            try await withListener(.init(connectionString: db.url)) { listener in
                var events = listener.subscribe().makeAsyncIterator()
                listener.listen(Store.licensesChannel)
                listener.listen(Store.appearanceChannel)
                listener.start()
                #expect(await events.next() == .resync)

                let license = try await store.addLicense(new())
                #expect(await events.next() == .notification(channel: Store.licensesChannel, payload: "add"))
                try await store.deleteLicense(id: license.id)
                #expect(await events.next() == .notification(channel: Store.licensesChannel, payload: "delete"))
                let user = try await store.makeUser("ann")
                #expect(await events.next() == .notification(channel: Store.licensesChannel, payload: "users"))
                _ = try await store.setUserStatus(id: user.id, .suspended)
                #expect(await events.next() == .notification(channel: Store.licensesChannel, payload: "users"))
                // Activation counts again.
                _ = try await store.setUserStatus(id: user.id, .active)
                #expect(await events.next() == .notification(channel: Store.licensesChannel, payload: "users"))
                try await store.setAppearance(Appearance(logoURL: "https://example.com/x.png"))
                #expect(await events.next() == .notification(channel: Store.appearanceChannel, payload: ""))

                // A change that fails announces nothing: the next event is the next change's.
                await #expect(throws: StoreError.notFound) { try await store.deleteLicense(id: 4242) }
                _ = try await store.addLicense(new("d.e.f"))
                #expect(await events.next() == .notification(channel: Store.licensesChannel, payload: "add"))
            }
        }
    }

    @Test func theSameLicenseTwiceIsAConflictAndLeavesOneRow() async throws {
        try await withStore { store, _ in
            let first = try await store.addLicense(new())
            await #expect(throws: StoreError.conflict(field: "license")) { try await store.addLicense(new()) }
            await #expect(throws: StoreError.conflict(field: "license")) {
                try await store.addLicense(NewLicense(jwt: "other.jwt.x", expires: Date(), uuid: first.uuid))
            }
            #expect(try await store.licenses().map(\.id) == [first.id])
        }
    }

    @Test func entitlementInputsSkipExpiredLicensesAndCountActiveUsersOnly() async throws {
        try await withStore { store, _ in
            let now = Date()
            _ = try await store.addLicense(new("old.jwt.x", expires: now.addingTimeInterval(-1)))
            let current = try await store.addLicense(new("new.jwt.x", expires: now.addingTimeInterval(3600)))
            let ann = try await store.makeUser("ann")
            _ = try await store.makeUser("bob")
            _ = try await store.setUserStatus(id: ann.id, .suspended)
            let inputs = try await store.entitlementInputs(at: now)
            #expect(inputs.licenses.map(\.id) == [current.id])
            #expect(inputs.activeUsers == 1)
            // Every license is listed, expired or not.
            #expect(try await store.licenses().count == 2)
        }
    }

    @Test func replicasStartingTogetherAgreeOnOneIdentity() async throws {
        try await withStore { store, _ in
            let identities = try await withThrowingTaskGroup(of: DeploymentIdentity.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await store.deploymentIdentity { Data((0..<32).map { _ in UInt8.random(in: 0...255) }) } }
                }
                return try await group.reduce(into: [DeploymentIdentity]()) { $0.append($1) }
            }
            #expect(Set(identities.map(\.id)).count == 1)
            #expect(Set(identities.map(\.trialSigningKey)).count == 1)
            #expect(identities[0].trialSigningKey.count == 32)
            // And later starts read the same.
            #expect(try await store.deploymentIdentity { Data(count: 32) } == identities[0])
        }
    }

    @Test func theFirstUsersTrialIsStoredWithTheUserOrNotAtAll() async throws {
        try await withStore { store, _ in
            let trial = new("trial.jwt.x")
            let owner = NewUser(email: "owner@example.com", username: "owner", hashedPassword: "", siteRoles: ["owner"], organizationID: nil)
            _ = try await store.createFirstUser(owner, organizationName: "coder", license: trial)
            #expect(try await store.licenses().map(\.uuid) == [trial.uuid])
            // A second first user fails, and its trial with it.
            let again = NewUser(email: "two@example.com", username: "two", hashedPassword: "", siteRoles: ["owner"], organizationID: nil)
            await #expect(throws: StoreError.alreadyInitialized) {
                try await store.createFirstUser(again, organizationName: "coder", license: new("second.trial.x"))
            }
            #expect(try await store.licenses().count == 1)
        }
    }

    @Test func appearanceRoundTrips() async throws {
        try await withStore { store, _ in
            #expect(try await store.appearance() == .unset)
            let appearance = Appearance(
                logoURL: "https://example.com/logo.png",
                announcementBanners: [.init(enabled: true, message: "hi \"there\"", backgroundColor: "#010203")],
                supportLinks: []
            )
            try await store.setAppearance(appearance)
            #expect(try await store.appearance() == appearance)
            try await store.setAppearance(.unset)
            #expect(try await store.appearance() == .unset)
        }
    }
}

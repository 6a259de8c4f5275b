import Foundation
import Postgres
import Store
import TestSupport
import Testing

/// Issue 20, finding 11: caps on connected daemons per user and per organization, decided in the
/// registration's transaction (`Store.registerDaemon(_:liveness:caps:)`).
@Suite struct DaemonCapTests {
    let liveness = Duration.seconds(30)

    func registration(_ name: String, organizationID: UUID, ownerID: UUID?, instanceID: String = UUID().uuidString) -> DaemonRegistration {
        let tags = ["scope": ownerID == nil ? "organization" : "user", "owner": ownerID?.uuidString.lowercased() ?? ""]
        return DaemonRegistration(
            name: name, organizationID: organizationID,
            ownership: DaemonOwnership(scope: tags["scope"]!, ownerID: ownerID), instanceID: instanceID, connectionID: UUID(),
            provisioners: ["echo"], tags: tags, replicaID: UUID(), version: "test"
        )
    }

    func organization(_ store: Store, _ name: String = "acme") async throws -> UUID {
        let id = UUID()
        try await store.pool.query("INSERT INTO organizations (id, name) VALUES ($1, $2)", [id, name])
        return id
    }

    func rows(_ store: Store, organizationID: UUID, ownerID: UUID? = nil) async throws -> Int {
        let result = try await store.pool.query(
            "SELECT count(*) FROM provisioner_daemons WHERE organization_id = $1 AND ($2::uuid IS NULL OR owner_id = $2::uuid)",
            [organizationID, ownerID]
        )
        return try result.first?.decode(0, as: Int.self) ?? -1
    }

    @Test func aUsersDaemonPastTheCapIsRefusedAndTheFirstOnesStayAndMayReconnect() async throws {
        try await withStore { store, _ in
            let organizationID = try await organization(store)
            let (bob, carol) = (UUID(), UUID())
            let caps = DaemonCaps(perUser: 2, perOrganization: 100)
            guard case .registered(let first, nil) = try await store.registerDaemon(
                registration("bob-1", organizationID: organizationID, ownerID: bob, instanceID: "bob-1"), liveness: liveness, caps: caps
            ) else { Issue.record("bob's first daemon was refused"); return }
            guard case .registered = try await store.registerDaemon(
                registration("bob-2", organizationID: organizationID, ownerID: bob, instanceID: "bob-2"), liveness: liveness, caps: caps
            ) else { Issue.record("bob's second daemon was refused"); return }
            // The third: refused, and nothing of it is written.
            #expect(try await store.registerDaemon(
                registration("bob-3", organizationID: organizationID, ownerID: bob), liveness: liveness, caps: caps
            ) == .capReached(.user(limit: 2)))
            #expect(try await rows(store, organizationID: organizationID, ownerID: bob) == 2)

            // The same process reconnecting is counted already: accepted, same row, older connection superseded.
            guard case .registered(let again, .some) = try await store.registerDaemon(
                registration("bob-1", organizationID: organizationID, ownerID: bob, instanceID: "bob-1"), liveness: liveness, caps: caps
            ) else { Issue.record("bob's reconnect was refused"); return }
            #expect(again.id == first.id)

            // Another user and the organization's daemons have caps of their own.
            guard case .registered = try await store.registerDaemon(
                registration("carol-1", organizationID: organizationID, ownerID: carol), liveness: liveness, caps: caps
            ) else { Issue.record("carol's daemon was refused"); return }
            guard case .registered = try await store.registerDaemon(
                registration("org-1", organizationID: organizationID, ownerID: nil), liveness: liveness, caps: caps
            ) else { Issue.record("the organization's daemon was refused"); return }

            // A daemon that went away frees its place: its own reconnect, or another name, fits.
            try await store.daemonDisconnected(connectionID: try #require(again.connectionID))
            guard case .registered(let back, _) = try await store.registerDaemon(
                registration("bob-1", organizationID: organizationID, ownerID: bob, instanceID: "bob-1"), liveness: liveness, caps: caps
            ) else { Issue.record("bob's daemon coming back was refused"); return }
            #expect(back.id == first.id)
            try await store.daemonDisconnected(connectionID: try #require(back.connectionID))
            guard case .registered = try await store.registerDaemon(
                registration("bob-3", organizationID: organizationID, ownerID: bob), liveness: liveness, caps: caps
            ) else { Issue.record("bob's new daemon was refused with a place free"); return }
            // …and once that place is taken, the daemon that was away counts as one more.
            #expect(try await store.registerDaemon(
                registration("bob-1", organizationID: organizationID, ownerID: bob, instanceID: "bob-1"), liveness: liveness, caps: caps
            ) == .capReached(.user(limit: 2)))
        }
    }

    @Test func theOrganizationCapCountsEveryOwner() async throws {
        try await withStore { store, _ in
            let organizationID = try await organization(store)
            let other = try await organization(store, "other")
            let caps = DaemonCaps(perUser: 10, perOrganization: 3)
            for (name, owner) in [("org-1", nil), ("alice-1", UUID()), ("bob-1", UUID())] as [(String, UUID?)] {
                guard case .registered = try await store.registerDaemon(
                    registration(name, organizationID: organizationID, ownerID: owner), liveness: liveness, caps: caps
                ) else { Issue.record("\(name) was refused under the cap"); return }
            }
            #expect(try await store.registerDaemon(
                registration("org-2", organizationID: organizationID, ownerID: nil), liveness: liveness, caps: caps
            ) == .capReached(.organization(limit: 3)))
            #expect(try await store.registerDaemon(
                registration("carol-1", organizationID: organizationID, ownerID: UUID()), liveness: liveness, caps: caps
            ) == .capReached(.organization(limit: 3)))
            // Another organization counts for itself.
            guard case .registered = try await store.registerDaemon(
                registration("org-1", organizationID: other, ownerID: nil), liveness: liveness, caps: caps
            ) else { Issue.record("another organization's daemon was refused"); return }
            #expect(try await rows(store, organizationID: organizationID) == 3)
        }
    }

    /// N registrations at once, each a new name: the count and the insert are one decision under
    /// the organization's lock, so exactly the cap's worth get in.
    @Test func concurrentRegistrationsNeverPassACap() async throws {
        try await withStore { store, _ in
            let organizationID = try await organization(store)
            let bob = UUID()
            let perUser = DaemonCaps(perUser: 3, perOrganization: 100)
            let liveness = self.liveness
            let userOutcomes = try await withThrowingTaskGroup(of: DaemonRegistrationOutcome.self) { group in
                for index in 0..<20 {
                    let daemon = registration("bob-\(index)", organizationID: organizationID, ownerID: bob)
                    group.addTask { try await store.registerDaemon(daemon, liveness: liveness, caps: perUser) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(userOutcomes.filter { if case .registered = $0 { true } else { false } }.count == 3)
            #expect(userOutcomes.filter { $0 == .capReached(.user(limit: 3)) }.count == 17)
            #expect(try await rows(store, organizationID: organizationID, ownerID: bob) == 3)

            let perOrganization = DaemonCaps(perUser: 100, perOrganization: 8)
            let organizationOutcomes = try await withThrowingTaskGroup(of: DaemonRegistrationOutcome.self) { group in
                for index in 0..<20 {
                    let daemon = registration("org-\(index)", organizationID: organizationID, ownerID: index.isMultiple(of: 2) ? nil : UUID())
                    group.addTask { try await store.registerDaemon(daemon, liveness: liveness, caps: perOrganization) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Bob's 3 are connected: 5 more fit.
            #expect(organizationOutcomes.filter { if case .registered = $0 { true } else { false } }.count == 5)
            #expect(organizationOutcomes.filter { $0 == .capReached(.organization(limit: 8)) }.count == 15)
            #expect(try await rows(store, organizationID: organizationID) == 8)
        }
    }

    /// Connecting and leaving under ever new names leaves a row (and an audit row) each, kept
    /// until the retention purge: a user may hold ten times their connected cap in names, and
    /// then only come back under one of them.
    @Test func aUserHoldsAtMostTenTimesTheirCapInNames() async throws {
        try await withStore { store, _ in
            let organizationID = try await organization(store)
            let bob = UUID()
            let caps = DaemonCaps(perUser: 1, perOrganization: 100)
            for index in 0..<10 {
                guard case .registered(let daemon, nil) = try await store.registerDaemon(
                    registration("bob-\(index)", organizationID: organizationID, ownerID: bob, instanceID: "bob-\(index)"), liveness: liveness, caps: caps
                ) else { Issue.record("bob's daemon \(index) was refused"); return }
                try await store.daemonDisconnected(connectionID: try #require(daemon.connectionID))
            }
            // An eleventh name: refused, nothing written; an old name comes back; others are not held to bob's names.
            #expect(try await store.registerDaemon(
                registration("bob-10", organizationID: organizationID, ownerID: bob), liveness: liveness, caps: caps
            ) == .capReached(.userNames(limit: 10)))
            #expect(try await rows(store, organizationID: organizationID, ownerID: bob) == 10)
            guard case .registered = try await store.registerDaemon(
                registration("bob-3", organizationID: organizationID, ownerID: bob, instanceID: "bob-3"), liveness: liveness, caps: caps
            ) else { Issue.record("bob's old name was refused"); return }
            guard case .registered = try await store.registerDaemon(
                registration("carol-0", organizationID: organizationID, ownerID: UUID()), liveness: liveness, caps: caps
            ) else { Issue.record("another user's daemon was refused"); return }
        }
    }
}

import Foundation
import Logging
import Postgres
import Store
import TestSupport
import Testing

/// Migration 11 keys daemon names by organization, name and owner (issue 20, finding 5), on a
/// database that already has daemons: the rows the previous version wrote keep their ids and their
/// owners' rules, and a name one owner holds no longer blocks another owner.
@Suite struct DaemonOwnerKeyMigrationTests {
    let liveness = Duration.seconds(30)

    func registration(_ name: String, organizationID: UUID, ownerID: UUID?, instanceID: String) -> DaemonRegistration {
        let tags = ["scope": ownerID == nil ? "organization" : "user", "owner": ownerID?.uuidString.lowercased() ?? ""]
        return DaemonRegistration(
            name: name, organizationID: organizationID,
            ownership: DaemonOwnership(scope: tags["scope"]!, ownerID: ownerID), instanceID: instanceID, connectionID: UUID(),
            provisioners: ["echo"], tags: tags, replicaID: UUID(), version: "test"
        )
    }

    @Test func existingDaemonsKeepTheirRowsAndOneOwnersNameNoLongerBlocksAnother() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            _ = try await Migrator(pool: pool, migrations: Array(Schema.migrations.prefix { $0.version < 11 })).up()
            let organizationID = UUID()
            let (bob, carol) = (UUID(), UUID())
            let (bobsDaemon, legacyDaemon) = (UUID(), UUID())
            try await pool.query("INSERT INTO organizations (id, name) VALUES ($1, 'acme')", [organizationID])
            // As the previous version wrote them: bob's user daemon, connected, under the name an
            // organization daemon would take by default; and a user daemon that migration 4
            // backfilled without an owner (its tags had none).
            try await pool.query(
                """
                INSERT INTO provisioner_daemons (id, name, organization_id, provisioners, tags, connected, last_seen_at, scope, owner_id, instance_id, connection_id)
                VALUES ($1, 'provisioner-1', $2, '{echo}', $5::jsonb, true, now(), 'user', $3, 'bob-laptop', $4)
                """,
                [bobsDaemon, organizationID, bob, UUID(), "{\"scope\": \"user\", \"owner\": \"\(bob.uuidString.lowercased())\"}"]
            )
            try await pool.query(
                "INSERT INTO provisioner_daemons (id, name, organization_id, provisioners, tags, scope, owner_id) VALUES ($1, 'legacy', $2, '{echo}', '{\"scope\": \"user\"}', 'user', NULL)",
                [legacyDaemon, organizationID]
            )
            let store = Store(pool: pool)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            #expect(try await store.migrate(logger: logger).first == 11)

            // The organization's daemon and carol's take bob's name, each under a row of its own.
            guard case .registered(let organizationDaemon, nil) = try await store.registerDaemon(
                registration("provisioner-1", organizationID: organizationID, ownerID: nil, instanceID: "org-host"), liveness: liveness
            ) else { Issue.record("the organization's daemon was refused bob's name"); return }
            guard case .registered(let carolsDaemon, nil) = try await store.registerDaemon(
                registration("provisioner-1", organizationID: organizationID, ownerID: carol, instanceID: "carol-laptop"), liveness: liveness
            ) else { Issue.record("carol's daemon was refused bob's name"); return }
            #expect(Set([organizationDaemon.id, carolsDaemon.id, bobsDaemon]).count == 3)
            #expect(organizationDaemon.ownership == DaemonOwnership(scope: "organization", ownerID: nil))

            // Within bob's own key, the rules of before: another process is refused while his daemon
            // is connected; his process reconnecting takes his row back, id and all.
            #expect(try await store.registerDaemon(
                registration("provisioner-1", organizationID: organizationID, ownerID: bob, instanceID: "bob-desktop"), liveness: liveness
            ) == .connectedElsewhere)
            guard case .registered(let bobAgain, .some) = try await store.registerDaemon(
                registration("provisioner-1", organizationID: organizationID, ownerID: bob, instanceID: "bob-laptop"), liveness: liveness
            ) else { Issue.record("bob's reconnect was refused"); return }
            #expect(bobAgain.id == bobsDaemon)
            // The same for the organization's daemon: a second process under its name is refused.
            #expect(try await store.registerDaemon(
                registration("provisioner-1", organizationID: organizationID, ownerID: nil, instanceID: "another-host"), liveness: liveness
            ) == .connectedElsewhere)

            // The ownerless user row shares the organization daemons' key: still not theirs.
            #expect(try await store.registerDaemon(
                registration("legacy", organizationID: organizationID, ownerID: nil, instanceID: "org-host"), liveness: liveness
            ) == .heldByAnotherOwner(DaemonOwnership(scope: "user", ownerID: nil)))

            // Listed side by side; the rows of before kept their ids.
            let listed = try await store.daemons(organizationID: organizationID)
            #expect(listed.filter { $0.name == "provisioner-1" }.count == 3)
            #expect(Set(listed.map(\.id)) == [bobsDaemon, legacyDaemon, organizationDaemon.id, carolsDaemon.id])
        }
    }
}

import Foundation
import Postgres
import Store
import TestSupport
import Testing

/// Migration 12 brings names the previous version stored as sent into NFC (issue 20, finding 12),
/// and leaves alone, rather than fail on, two rows that one normal form would make one.
@Suite struct UnicodeNamesMigrationTests {
    static let composed = "jos\u{00E9}", decomposed = "jose\u{0301}"

    @Test func namesBecomeNFCAndCollisionsKeepTheirSpelling() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            _ = try await Migrator(pool: pool, migrations: Array(Schema.migrations.prefix { $0.version < 12 })).up()
            let organizationID = UUID()
            try await pool.query("INSERT INTO organizations (id, name) VALUES ($1, 'acme')", [organizationID])
            let (ann, bob, twinA, twinB) = (UUID(), UUID(), UUID(), UUID())
            func user(_ id: UUID, _ name: String, scim: String?, externalID: String? = nil, title: String = "") async throws {
                try await pool.query(
                    "INSERT INTO users (id, email, username, scim_user_name, scim_external_id, scim_attributes) VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
                    [id, "\(name)@example.com", name.filter(\.isASCII), scim, externalID, "{\"title\": \"\(title)\"}"]
                )
            }
            // ann: every name decomposed; the twins: one userName in both forms, two rows already.
            try await user(ann, "ann-" + Self.decomposed, scim: Self.decomposed + "@idp", externalID: "ext-" + Self.decomposed, title: Self.decomposed)
            try await user(bob, "bob", scim: "bob@idp")
            try await user(twinA, "twin-a", scim: "twin-" + Self.composed)
            try await user(twinB, "twin-b", scim: "twin-" + Self.decomposed)
            try await pool.query("INSERT INTO groups (id, name, organization_id) VALUES ($1, $2, $3)", [UUID(), "Ingenieri\u{0301}a", organizationID])

            #expect(try await Migrator(pool: pool, migrations: Array(Schema.migrations.prefix { $0.version <= 12 })).up() == [12])

            // Compared by bytes throughout: Swift's `==` calls the two forms equal.
            func bytes(_ text: String?) -> [UInt8]? { text.map { Array($0.utf8) } }
            let row = try #require(try await pool.query("SELECT email, scim_user_name, scim_external_id, scim_attributes->>'title' AS title FROM users WHERE id = $1", [ann]).first)
            #expect(bytes(try row.decode("email", as: String.self)) == bytes("ann-\(Self.composed)@example.com"))
            #expect(bytes(try row.decode("scim_user_name", as: String.self)) == bytes(Self.composed + "@idp"))
            #expect(bytes(try row.decode("scim_external_id", as: String.self)) == bytes("ext-" + Self.composed))
            #expect(bytes(try row.decode("title", as: String.self)) == bytes(Self.composed))
            let twin = try await pool.query("SELECT scim_user_name FROM users WHERE id = $1", [twinB]).first?.decode(0, as: String.self)
            #expect(twin.map { Array($0.utf8) } == Array(("twin-" + Self.decomposed).utf8))
            let group = try await pool.query("SELECT name FROM groups WHERE organization_id = $1", [organizationID]).first?.decode(0, as: String.self)
            #expect(group.map { Array($0.utf8) } == Array("Ingenier\u{00ED}a".utf8))
        }
    }
}

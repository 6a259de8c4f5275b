import Foundation
import Logging
import Postgres
import Store
import TestSupport
import Testing

/// Migration 7 gives every template that existed before ACLs were enforced Everyone `use`, so
/// that nobody loses access on upgrade; a template with an ACL of its own keeps it.
@Suite struct TemplateACLMigrationTests {
    @Test func existingTemplatesKeepTheirUsersOnUpgrade() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let before = Array(Schema.migrations.prefix { $0.version < 7 })
            _ = try await Migrator(pool: pool, migrations: before).up()
            let store = Store(pool: pool)
            let (owner, organization) = try await store.createFirstUser(
                NewUser(email: "owner@example.com", username: "owner", hashedPassword: "", siteRoles: ["owner"], organizationID: nil),
                organizationName: "acme"
            )
            let fileID = try await store.insertFile(hash: "h", createdBy: owner.id, mimetype: "application/x-tar", data: [1])
            let version = try await store.createTemplateVersion(name: "v1", templateID: nil, job: NewProvisionerJob(
                organizationID: organization.id, initiatorID: owner.id, provisioner: "echo", type: .templateVersionImport,
                fileID: fileID, input: "{}", tags: ["scope": "organization", "owner": ""]
            ))
            // Templates as the previous version stored them: no ACL, and one with an entry.
            for (name, acl) in [("old", "{}"), ("own", "{\"\(owner.id.uuidString.lowercased())\": \"admin\"}")] {
                try await pool.query(
                    "INSERT INTO templates (id, organization_id, name, provisioner, active_version_id, created_by, user_acl) VALUES ($1, $2, $3, 'echo', $4, $5, $6::jsonb)",
                    [UUID(), organization.id, name, version.id, owner.id, acl]
                )
            }
            _ = try await store.migrate(logger: Logger(label: "test"))
            let templates = try await store.templates(organizationID: organization.id)
            #expect(templates.first { $0.name == "old" }?.groupACL == [organization.id: .use])
            let own = try #require(templates.first { $0.name == "own" })
            #expect(own.groupACL.isEmpty)
            #expect(own.userACL == [owner.id: .admin])
        }
    }
}

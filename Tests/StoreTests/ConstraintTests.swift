import Foundation
import Postgres
import Store
import Testing

/// Each table's unique constraints name the field a caller chose, as `StoreError.conflict`.
@Suite struct ConstraintTests {
    @Test func usersConflictOnEmailOrUsernameWhateverTheCase() async throws {
        try await withStore { store, _ in
            _ = try await store.makeUser("ann")
            await #expect(throws: StoreError.conflict(field: "email")) {
                try await store.createUser(NewUser(email: "ANN@example.com", username: "other", hashedPassword: "", organizationID: nil))
            }
            await #expect(throws: StoreError.conflict(field: "username")) {
                try await store.createUser(NewUser(email: "other@example.com", username: "Ann", hashedPassword: "", organizationID: nil))
            }
        }
    }

    @Test func templatesAndWorkspacesConflictOnTheirName() async throws {
        try await withStore { store, _ in
            let (owner, organization) = try await store.createFirstUser(
                NewUser(email: "owner@example.com", username: "owner", hashedPassword: "", siteRoles: ["owner"], organizationID: nil),
                organizationName: "acme"
            )
            let fileID = try await store.insertFile(hash: "h", createdBy: owner.id, mimetype: "application/x-tar", data: [1, 2, 3])
            func job(_ type: ProvisionerJobType) -> NewProvisionerJob {
                NewProvisionerJob(organizationID: organization.id, initiatorID: owner.id, provisioner: "echo", type: type, fileID: fileID, input: "{}", tags: ["scope": "organization", "owner": ""])
            }
            let version = try await store.createTemplateVersion(name: "v1", templateID: nil, job: job(.templateVersionImport))
            func createTemplate() async throws -> Template {
                try await store.createTemplate(
                    organizationID: organization.id, name: "base", displayName: "", description: "", versionID: version.id,
                    provisioner: "echo", createdBy: owner.id
                )
            }
            let template = try await createTemplate()
            await #expect(throws: StoreError.conflict(field: "name")) { try await createTemplate() }

            func createWorkspace(_ name: String) async throws -> (Workspace, WorkspaceBuild) {
                try await store.createWorkspace(
                    ownerID: owner.id, organizationID: organization.id, templateID: template.id, versionID: version.id, name: name,
                    job: job(.workspaceBuild)
                )
            }
            _ = try await createWorkspace("dev")
            await #expect(throws: StoreError.conflict(field: "name")) { try await createWorkspace("DEV") }
        }
    }

    @Test func anOrganizationNameIsTakenOnce() async throws {
        try await withStore { store, _ in
            try await store.pool.query("INSERT INTO organizations (id, name) VALUES ($1, 'acme')", [UUID()])
            await #expect(throws: StoreError.conflict(field: "name")) {
                try await store.createFirstUser(
                    NewUser(email: "owner@example.com", username: "owner", hashedPassword: "", organizationID: nil), organizationName: "Acme"
                )
            }
            #expect(try await store.hasAnyUser() == false)
        }
    }
}

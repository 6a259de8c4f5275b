import Foundation
import Postgres
import Store
import Testing

/// Rows decode by column name into typed values; a value the model cannot hold is an error.
@Suite struct DecodingTests {
    @Test func anUnknownStatusIsAnErrorNotAnActiveUser() async throws {
        try await withStore { store, _ in
            let ann = try await store.makeUser("ann")
            try await store.pool.query("ALTER TABLE users DROP CONSTRAINT users_status_check")
            try await store.pool.query("UPDATE users SET status = 'retired' WHERE id = $1", [ann.id])
            let error = try await #require(throws: PostgresError.self) { try await store.user(id: ann.id) }
            #expect(error.kind == .decoding)
            #expect(error.message.contains("column status"))
            #expect(error.message.contains("retired"))
        }
    }

    @Test func modelsReadTheirArraysAndJSONColumns() async throws {
        try await withStore { store, _ in
            let (owner, organization) = try await store.createFirstUser(
                NewUser(email: "owner@example.com", username: "owner", hashedPassword: "", siteRoles: ["owner", "auditor"], organizationID: nil),
                organizationName: "acme"
            )
            #expect(owner.siteRoles == ["owner", "auditor"])
            #expect(owner.organizationIDs == [organization.id])
            #expect(owner.status == .active)

            let tags = ["scope": "user", "owner": owner.id.uuidString.lowercased(), "region": "eu/west"]
            let fileID = try await store.insertFile(hash: "h", createdBy: owner.id, mimetype: "application/x-tar", data: [0, 255])
            #expect(try await store.fileData(id: fileID)?.data == [0, 255])
            let version = try await store.createTemplateVersion(name: "v1", templateID: nil, job: NewProvisionerJob(
                organizationID: organization.id, initiatorID: owner.id, provisioner: "echo", type: .templateVersionImport,
                fileID: fileID, input: #"{"a": 1}"#, tags: tags
            ))
            let job = try #require(try await store.job(id: version.jobID))
            #expect(job.tags == tags)
            #expect(job.type == .templateVersionImport)
            #expect(job.status == "pending")
            #expect(job.lease == nil)
        }
    }
}

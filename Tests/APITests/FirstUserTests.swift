import Foundation
import Postgres
import Testing

@Suite struct FirstUserTests {
    @Test func firstUserBecomesOwnerWithDefaultOrganizationAndEveryoneGroup() async throws {
        // Production's cost: the stored hash is asserted below.
        try await withApp(passwordHashing: .current) { client, store in
            let before = try await client.request(.get, "/api/v2/users/first")
            #expect(before.status == .notFound)

            let created = try await client.request(.post, "/api/v2/users/first", json: [
                "email": "admin@example.com", "username": "admin", "password": TestClient.ownerPassword, "trial": false,
            ])
            #expect(created.status == .created)
            let userID = try #require(try UUID(uuidString: created.json["user_id"] as? String ?? ""))
            let organizationID = try #require(try UUID(uuidString: created.json["organization_id"] as? String ?? ""))

            #expect(try await client.request(.get, "/api/v2/users/first").status == .ok)

            let user = try #require(try await store.user(id: userID))
            #expect(user.siteRoles == ["owner"])
            #expect(user.organizationIDs == [organizationID])
            let everyone = try await store.pool.query("SELECT id, name, organization_id FROM groups").rows
            #expect(everyone.count == 1)
            #expect(try everyone[0].decode(0, as: UUID.self) == organizationID)
            #expect(try everyone[0].decode(1, as: String.self) == "Everyone")
            #expect(try everyone[0].decode(2, as: UUID.self) == organizationID)
            // The password is stored as a slow hash, never in clear.
            #expect(user.hashedPassword.hasPrefix("$pbkdf2-sha256$210000$"))
            #expect(!user.hashedPassword.contains(TestClient.ownerPassword))

            let again = try await client.request(.post, "/api/v2/users/first", json: [
                "email": "other@example.com", "username": "other", "password": TestClient.ownerPassword,
            ])
            #expect(again.status == .conflict)
            #expect(try again.message == "The initial user has already been created.")
            #expect(try await store.pool.query("SELECT count(*) FROM users").first?.decode(0, as: Int.self) == 1)
        }
    }

    @Test func everyInvalidFieldIsReportedAndNothingIsWritten() async throws {
        try await withApp { client, store in
            let missing = try await client.request(.post, "/api/v2/users/first", json: [String: String]())
            #expect(missing.status == .badRequest)
            #expect(try missing.message == "Validation failed.")
            #expect(try missing.validationFields == ["email", "username", "password"])

            let bad = try await client.request(.post, "/api/v2/users/first", json: [
                "email": "not-an-email", "username": "-bad name-", "password": "x",
            ])
            #expect(bad.status == .badRequest)
            #expect(try bad.validationFields == ["email", "username"])
            let details = try (bad.json["validations"] as? [[String: Any]])?.compactMap { $0["detail"] as? String } ?? []
            #expect(details.first == "Validation failed for tag \"email\" with value: \"not-an-email\"")

            let weak = try await client.request(.post, "/api/v2/users/first", json: [
                "email": "a@example.com", "username": "alice", "password": "password",
            ])
            #expect(weak.status == .badRequest)
            #expect(try weak.message == "Password not strong enough!")
            #expect(try weak.validationFields == ["password"])

            #expect(try await store.hasAnyUser() == false)
            #expect(try await store.pool.query("SELECT count(*) FROM organizations").first?.decode(0, as: Int.self) == 0)
        }
    }

    @Test func concurrentFirstUserRequestsCreateExactlyOne() async throws {
        try await withApp { client, store in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<4 {
                    group.addTask {
                        try await client.request(.post, "/api/v2/users/first", json: [
                            "email": "u\(i)@example.com", "username": "u\(i)", "password": TestClient.ownerPassword,
                        ]).status.code
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.sorted() == [201, 409, 409, 409])
            #expect(try await store.pool.query("SELECT count(*) FROM organizations").first?.decode(0, as: Int.self) == 1)
        }
    }
}

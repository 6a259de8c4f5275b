import Foundation
import Testing

@Suite struct UserTests {
    @Test func ownersCreateUsersAndConflictsAre409() async throws {
        try await withApp { client, store in
            let owner = try await client.setUpOwner()
            let created = try await client.request(.post, "/api/v2/users", json: [
                "email": "Alice@Example.com", "username": "alice", "password": "Al1ce-Passw0rd!", "organization_id": owner.organizationID.uuidString,
            ], token: owner.token)
            #expect(created.status == .created)
            #expect(try created.json["status"] as? String == "active")
            #expect(try created.json["organization_ids"] as? [String] == [owner.organizationID.uuidString.lowercased()])
            #expect(try (created.json["roles"] as? [Any])?.isEmpty == true)

            let sameEmail = try await client.request(.post, "/api/v2/users", json: [
                "email": "alice@example.com", "username": "alice2", "password": "Al1ce-Passw0rd!", "organization_id": owner.organizationID.uuidString,
            ], token: owner.token)
            #expect(sameEmail.status == .conflict)
            #expect(try sameEmail.message == "User already exists.")
            #expect(try sameEmail.validationFields == ["email"])

            let sameName = try await client.request(.post, "/api/v2/users", json: [
                "email": "alice3@example.com", "username": "ALICE", "password": "Al1ce-Passw0rd!", "organization_id": owner.organizationID.uuidString,
            ], token: owner.token)
            #expect(sameName.status == .conflict)
            #expect(try sameName.validationFields == ["username"])

            let noOrganization = try await client.request(.post, "/api/v2/users", json: [
                "email": "x@example.com", "username": "x", "password": "Al1ce-Passw0rd!", "organization_id": UUID().uuidString,
            ], token: owner.token)
            #expect(noOrganization.status == .notFound)

            let invalid = try await client.request(.post, "/api/v2/users", json: [
                "email": "bad", "username": "no spaces", "password": "",
            ], token: owner.token)
            #expect(invalid.status == .badRequest)
            #expect(try invalid.validationFields == ["email", "username", "password", "organization_id"])
            #expect(try await store.pool.query("SELECT count(*) FROM users").first?.decode(0, as: Int.self) == 2)
        }
    }

    @Test func userParameterAcceptsUUIDUsernameAndMe() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            for path in ["me", "owner", "OWNER", owner.userID.uuidString] {
                let response = try await client.request(.get, "/api/v2/users/\(path)", token: owner.token)
                #expect(response.status == .ok, "\(path)")
                #expect(try response.json["id"] as? String == owner.userID.uuidString.lowercased())
            }
            for path in ["nobody", UUID().uuidString] {
                let response = try await client.request(.get, "/api/v2/users/\(path)", token: owner.token)
                #expect(response.status == .badRequest)
                #expect(try response.message == "\"user\" must be an existing uuid or username.")
            }
        }
    }

    @Test func membersCannotAdministerUsers() async throws {
        try await withApp { client, store in
            let owner = try await client.setUpOwner()
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)

            let create = try await client.request(.post, "/api/v2/users", json: [
                "email": "c@example.com", "username": "carol", "password": "Car0l-Passw0rd!", "organization_id": owner.organizationID.uuidString,
            ], token: alice.token)
            #expect(create.status == .forbidden)
            #expect(try create.message == "Forbidden.")

            let suspend = try await client.request(.put, "/api/v2/users/bob/status/suspend", token: alice.token)
            #expect(suspend.status == .forbidden)
            #expect(try await store.user(id: bob.id)?.status == .active)

            // Members read the members of their organizations.
            #expect(try await client.request(.get, "/api/v2/users/bob", token: alice.token).status == .ok)
            let list = try await client.request(.get, "/api/v2/users", token: alice.token)
            #expect(list.status == .ok)
            #expect(try list.json["count"] as? Int == 3)
        }
    }

    @Test func usersOutsideYourOrganizationsAreNotFound() async throws {
        try await withApp { client, store in
            let owner = try await client.setUpOwner()
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            // A user in another organization only.
            let otherOrganization = UUID()
            try await store.pool.query("INSERT INTO organizations (id, name) VALUES ($1, 'other')", [otherOrganization])
            let stranger = try await client.createMember("stranger", organizationID: otherOrganization, token: owner.token)

            let read = try await client.request(.get, "/api/v2/users/stranger", token: alice.token)
            #expect(read.status == .notFound)
            #expect(try read.message == "Resource not found or you do not have access to this resource")
            let list = try await client.request(.get, "/api/v2/users", token: alice.token)
            #expect(list.status == .ok)
            let names = try (list.json["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String }
            #expect(names == ["owner", "alice"])
            let organization = try await client.request(.get, "/api/v2/organizations/\(otherOrganization)", token: alice.token)
            #expect(organization.status == .notFound)
            #expect(try await client.request(.get, "/api/v2/organizations/\(otherOrganization)", token: stranger.token).status == .ok)
        }
    }

    @Test func ownersListSearchAndPageUsers() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            for name in ["alice", "bob", "carol"] {
                _ = try await client.createMember(name, organizationID: owner.organizationID, token: owner.token)
            }
            let all = try await client.request(.get, "/api/v2/users", token: owner.token)
            #expect(all.status == .ok)
            #expect(try all.json["count"] as? Int == 4)
            let page = try await client.request(.get, "/api/v2/users?limit=2&offset=1", token: owner.token)
            #expect(page.status == .ok)
            #expect(try (page.json["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["alice", "bob"])
            let search = try await client.request(.get, "/api/v2/users?q=car", token: owner.token)
            #expect(search.status == .ok)
            #expect(try (search.json["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["carol"])
            let badLimit = try await client.request(.get, "/api/v2/users?limit=-1", token: owner.token)
            #expect(badLimit.status == .badRequest)
        }
    }

    @Test func pagesArePushedIntoSQLWithAfterIDAndATotalCount() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            var ids: [String: UUID] = [:]
            for name in ["alice", "bob", "carol", "dave"] {
                ids[name] = try await client.createMember(name, organizationID: owner.organizationID, token: owner.token).id
            }
            func names(_ path: String) async throws -> (names: [String], count: Int?) {
                let response = try await client.request(.get, path, token: owner.token)
                #expect(response.status == .ok, "\(path)")
                return try ((response.json["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } ?? [], response.json["count"] as? Int)
            }
            let afterBob = try await names("/api/v2/users?after_id=\(ids["bob"]!)&limit=2")
            #expect(afterBob.names == ["carol", "dave"])
            #expect(afterBob.count == 2, "the count is of what matches, after_id included")
            // Past the end: no rows, and the count still says how many match.
            let pastTheEnd = try await names("/api/v2/users?offset=10")
            #expect(pastTheEnd.names.isEmpty)
            #expect(pastTheEnd.count == 5)
            #expect(try await names("/api/v2/users?limit=0").names.count == 5, "limit=0 means no limit")
            #expect(try await names("/api/v2/users?after_id=\(UUID())").names.isEmpty, "an unknown after_id names no position")

            let bad = try await client.request(.get, "/api/v2/users?limit=x&offset=-2&after_id=nope", token: owner.token)
            #expect(bad.status == .badRequest)
            #expect(try bad.validationFields == ["limit", "offset", "after_id"])
        }
    }

    @Test func suspensionLocksTheUserOutUntilActivated() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token, password: "B0b-Passw0rd!!")

            let suspended = try await client.request(.put, "/api/v2/users/bob/status/suspend", token: owner.token)
            #expect(suspended.status == .ok)
            #expect(try suspended.json["status"] as? String == "suspended")
            #expect(try await client.request(.get, "/api/v2/users/me", token: bob.token).status == .unauthorized)
            let login = try await client.request(.post, "/api/v2/users/login", json: ["email": "bob@example.com", "password": "B0b-Passw0rd!!"])
            #expect(login.status == .unauthorized)
            #expect(try login.message == "Your account is suspended. Contact an admin to reactivate your account.")

            let activated = try await client.request(.put, "/api/v2/users/bob/status/activate", token: owner.token)
            #expect(activated.status == .ok)
            #expect(try activated.json["status"] as? String == "active")
            #expect(try await client.request(.get, "/api/v2/users/me", token: bob.token).status == .ok)

            let selfSuspend = try await client.request(.put, "/api/v2/users/me/status/suspend", token: owner.token)
            #expect(selfSuspend.status == .badRequest)
            #expect(try selfSuspend.message == "You cannot suspend yourself.")
        }
    }

    @Test func organizationsOfAUserAndByID() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            let list = try await client.request(.get, "/api/v2/users/me/organizations", token: bob.token)
            #expect(list.status == .ok)
            #expect(try list.jsonArray.count == 1)
            #expect(try list.jsonArray.first?["id"] as? String == owner.organizationID.uuidString.lowercased())
            #expect(try list.jsonArray.first?["name"] as? String == "coder")
            #expect(try list.jsonArray.first?["is_default"] as? Bool == true)

            let one = try await client.request(.get, "/api/v2/organizations/\(owner.organizationID)", token: bob.token)
            #expect(one.status == .ok)
            let bad = try await client.request(.get, "/api/v2/organizations/not-a-uuid", token: bob.token)
            #expect(bad.status == .badRequest)
            #expect(try bad.message == "Invalid UUID \"not-a-uuid\".")
            let missing = try await client.request(.get, "/api/v2/organizations/\(UUID())", token: bob.token)
            #expect(missing.status == .notFound)
            #expect(try missing.message == "Resource not found or you do not have access to this resource")
        }
    }
}

import Foundation
import HTTPTypes
import Store
import Testing

/// Text that PostgreSQL would store differently from what was sent (U+0000, which libpq's C
/// strings cut off and jsonb refuses) and spellings of one account that Swift and the database
/// fold differently: each is refused or counted as the account it resolves to.
@Suite struct TextInputTests {
    static let password = "An0ther-Passw0rd!"

    func login(_ client: TestClient, _ email: String, _ password: String = Self.password) async throws -> TestResponse {
        try await client.request(.post, "/api/v2/users/login", json: ["email": email, "password": password])
    }

    @Test func aLockedAccountHasNoSideDoorThroughNULOrAnotherSpelling() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            _ = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            for _ in 0..<10 { #expect(try await login(client, "alice@example.com", "Wr0ng-Passw0rd!").status == .unauthorized) }
            #expect(try await login(client, "alice@example.com").status == .tooManyRequests)
            // libpq would have looked up `alice@example.com`: refused before any lookup, naming the field.
            let nul = try await login(client, "alice@example.com\u{0}x")
            #expect(nul.status == .badRequest)
            #expect(try nul.validationFields == ["email"])
            // PostgreSQL lowers İ to i and finds alice; Swift's lowering would have made a new key.
            #expect(try await login(client, "alİce@example.com").status == .tooManyRequests)
            #expect(try await login(client, "ALICE@Example.com").status == .tooManyRequests)
            // Another account is not locked.
            #expect(try await login(client, "owner@example.com", TestClient.ownerPassword).status == .created)
        }
    }

    @Test func unknownEmailsAreCountedAsTheDatabaseComparesThem() async throws {
        try await withApp { client, _ in
            _ = try await client.setUpOwner()
            // `nobİdy` is `nobidy` to the database's lower() (Swift's lowercased() makes `nobi̇dy`).
            for _ in 0..<10 { #expect(try await login(client, "nobİdy@example.com").status == .unauthorized) }
            #expect(try await login(client, "nobidy@example.com").status == .tooManyRequests)
            #expect(try await login(client, "NOBIDY@example.com").status == .tooManyRequests)
            #expect(try await login(client, "somebody@example.com").status == .unauthorized)
        }
    }

    @Test func nulInAnyBodyOrParameterIsA400AndNothingIsStored() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, store, _ in
            let owner = try await licensedOwner(client)
            // In a JSON body, named by its field.
            let group = try await client.request(.post, "/api/v2/organizations/\(owner.organizationID.uuidString)/groups", json: ["name": "ops\u{0}x"], token: owner.token)
            #expect(group.status == .badRequest)
            #expect(try group.validationFields == ["name"])
            let user = try await client.request(.post, "/api/v2/users", json: [
                "email": "bob@example.com", "username": "bob", "password": Self.password, "organization_id": owner.organizationID.uuidString,
                "name": "Bob\u{0}",
            ], token: owner.token)
            #expect(user.status == .badRequest)
            #expect(try user.validationFields == ["name"])
            #expect(try await store.user(email: "bob@example.com") == nil)
            // SCIM: `invalidValue`, the field in the detail, nothing stored.
            let scim = SCIMClient(client: client)
            let named = try await scim(.post, "/Groups", ["displayName": "nul\u{0}x"])
            #expect(try named.status == .badRequest && named.scimType == "invalidValue")
            #expect(try (named.json["detail"] as? String)?.contains("displayName") == true)
            let groups = try await scim(.get, "/Groups")
            #expect(groups.status == .ok)
            #expect(try groups.json["totalResults"] as? Int == 0)
            let carol = try await scim.create("carol@example.com", extra: ["name": ["givenName": "Ca\u{0}rol"]])
            #expect(try carol.status == .badRequest && carol.scimType == "invalidValue")
            #expect(try (carol.json["detail"] as? String)?.contains("name.givenName") == true)
            #expect(try await store.user(email: "carol@example.com") == nil)
            // In a path parameter, the binding layer's backstop: a 400, not the user `owner`.
            let path = try await client.request(.get, "/api/v2/users/owner%00x", token: owner.token)
            #expect(path.status == .badRequest)
            #expect(try await client.request(.get, "/api/v2/users/owner", token: owner.token).status == .ok)
        }
    }
}

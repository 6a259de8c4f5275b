import Foundation
import Testing

@Suite struct SessionTests {
    static let signedOut = "You are signed out or your session has expired. Please sign in again to continue."

    @Test func loginGivesATokenThatWorksByHeaderCookieAndQuery() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            let response = try await client.request(.post, "/api/v2/users/login", json: ["email": "owner@example.com", "password": TestClient.ownerPassword])
            #expect(response.status == .created)
            #expect(response.headers[.setCookie]?.hasPrefix("coder_session_token=") == true)
            let token = try #require(try response.json["session_token"] as? String)
            #expect(token.wholeMatch(of: /[A-Za-z0-9]{10}-[A-Za-z0-9]{22}/) != nil)

            let byHeader = try await client.request(.get, "/api/v2/users/me", token: token)
            #expect(byHeader.status == .ok)
            #expect(try byHeader.json["username"] as? String == "owner")
            #expect(try byHeader.json["id"] as? String == owner.userID.uuidString.lowercased())
            let roles = try byHeader.json["roles"] as? [[String: String]]
            #expect(roles == [["name": "owner", "display_name": "Owner"]])
            #expect(try Set(byHeader.json.keys) == ["avatar_url", "created_at", "email", "id", "last_seen_at", "organization_ids", "roles", "status", "username"])

            let byCookie = try await client.request(.get, "/api/v2/users/me", headers: [.cookie: "other=1; coder_session_token=\(token)"])
            #expect(byCookie.status == .ok)
            let byQuery = try await client.request(.get, "/api/v2/users/me?coder_session_token=\(token)")
            #expect(byQuery.status == .ok)
        }
    }

    @Test func wrongCredentialsAndBadTokensAre401() async throws {
        try await withApp { client, store in
            let owner = try await client.setUpOwner()
            let wrong = try await client.request(.post, "/api/v2/users/login", json: ["email": "owner@example.com", "password": "Wr0ng-Passw0rd!"])
            #expect(wrong.status == .unauthorized)
            #expect(try wrong.message == "Incorrect email or password.")
            let unknown = try await client.request(.post, "/api/v2/users/login", json: ["email": "nobody@example.com", "password": "Wr0ng-Passw0rd!"])
            #expect(unknown.status == .unauthorized)
            #expect(try unknown.message == "Incorrect email or password.")
            let invalid = try await client.request(.post, "/api/v2/users/login", json: ["email": "x"])
            #expect(invalid.status == .badRequest)
            #expect(try invalid.validationFields == ["email", "password"])

            let none = try await client.request(.get, "/api/v2/users/me")
            #expect(none.status == .unauthorized)
            #expect(try none.message == Self.signedOut)
            // The last character changed (to one it is not: a token ending in "x" once made this a 200).
            let altered = String(owner.token.dropLast()) + (owner.token.hasSuffix("x") ? "y" : "x")
            for bad in ["garbage", "abcdefghij-abcdefghijklmnopqrstuv", altered] {
                let response = try await client.request(.get, "/api/v2/users/me", token: bad)
                #expect(response.status == .unauthorized)
                #expect(try response.message == Self.signedOut)
            }

            // An expired key is refused.
            let keyID = String(owner.token.prefix(10))
            try await store.pool.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [keyID])
            let expired = try await client.request(.get, "/api/v2/users/me", token: owner.token)
            #expect(expired.status == .unauthorized)
            #expect(try expired.message == Self.signedOut)
        }
    }

    @Test func onlyAHashOfTheSecretIsStored() async throws {
        try await withApp { client, store in
            let owner = try await client.setUpOwner()
            let secret = String(owner.token.dropFirst(11))
            let rows = try await store.pool.query("SELECT id, encode(hashed_secret, 'hex') FROM api_keys").rows
            #expect(rows.count == 1)
            #expect(try rows[0].decode(0, as: String.self) == String(owner.token.prefix(10)))
            #expect(try !rows[0].decode(1, as: String.self).contains(secret))
            #expect(try rows[0].decode(1, as: String.self).count == 64)
        }
    }

    @Test func logoutEndsTheSession() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            let other = try await client.login("owner@example.com", TestClient.ownerPassword)
            let out = try await client.request(.post, "/api/v2/users/logout", token: owner.token)
            #expect(out.status == .ok)
            #expect(try out.message == "Successfully logged out.")
            #expect(try await client.request(.get, "/api/v2/users/me", token: owner.token).status == .unauthorized)
            // Other sessions of the same user are untouched.
            #expect(try await client.request(.get, "/api/v2/users/me", token: other).status == .ok)
        }
    }

    @Test func apiKeysAreLongLivedTokensForOneself() async throws {
        try await withApp { client, store in
            let owner = try await client.setUpOwner()
            let member = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            let key = try await client.request(.post, "/api/v2/users/me/keys", token: member.token)
            #expect(key.status == .created)
            let token = try #require(try key.json["key"] as? String)
            let me = try await client.request(.get, "/api/v2/users/me", token: token)
            #expect(me.status == .ok)
            #expect(try me.json["username"] as? String == "bob")
            let lifetime = try await store.pool.query("SELECT lifetime_seconds, login_type FROM api_keys WHERE id = $1", [String(token.prefix(10))]).first
            #expect(try lifetime?.decode(0, as: Int.self) == 30 * 24 * 3600)
            #expect(try lifetime?.decode(1, as: String.self) == "token")

            // A member cannot mint keys for someone else.
            let forOwner = try await client.request(.post, "/api/v2/users/owner/keys", token: member.token)
            #expect(forOwner.status == .forbidden)
        }
    }
}

import Foundation
import Licensing
import Postgres
import Store
import Testing
@testable import API

/// Issue 20, finding 9: creating, suspending and activating users, minting and deleting API keys
/// (a login, a token, a logout), and creating template versions, templates, workspaces and builds
/// write their audit row in the transaction of the change. A change that fails has none, and no
/// row holds a token, its secret, the secret's hash, a password or a password hash.
@Suite struct ChangeAuditTests {
    /// Every row (or those `q` matches), newest first, and the response's whole text.
    static func audit(_ client: TestClient, _ token: String, _ q: String? = nil) async throws -> (rows: [[String: Any]], text: String) {
        let path = q.map { "/api/v2/audit?q=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? "/api/v2/audit"
        let response = try await client.request(.get, path, token: token)
        #expect(response.status == .ok)
        return try (response.json["audit_logs"] as? [[String: Any]] ?? [], String(decoding: response.body, as: UTF8.self))
    }

    static func diff(_ row: [String: Any]) -> [String: [String: Any]] {
        row["diff"] as? [String: [String: Any]] ?? [:]
    }

    static func actor(_ row: [String: Any]) -> String? {
        (row["user"] as? [String: Any])?["username"] as? String
    }

    /// What no audit row may hold of a token: the token, its secret, the secret's SHA-256 (as the
    /// database keeps it) in hex and in base64.
    static func secrets(ofToken token: String) -> [String] {
        guard let parts = Tokens.split(token) else { return [token] }
        let hash = Tokens.hash(secret: parts.secret)
        return [token, parts.secret, hash.map { String(format: "%02x", $0) }.joined(), Data(hash).base64EncodedString()]
    }

    @Test func usersAndAPIKeysAreAuditedAndNoRowHoldsASecret() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            // The owner's login came before the license, so before the audit log: no row.
            #expect(try await Self.audit(client, owner.token).rows.isEmpty)

            let password = "An0ther-Passw0rd!"
            let body: [String: Any] = ["email": "alice@example.com", "username": "alice", "password": password, "organization_id": org]
            let created = try await client.request(.post, "/api/v2/users", json: body, token: owner.token)
            #expect(created.status == .created)
            let aliceID = try #require(try created.json["id"] as? String)
            // The same email (and username) again fails in the insert: no row.
            #expect(try await client.request(.post, "/api/v2/users", json: body, token: owner.token).status == .conflict)
            // A failed login changes nothing: no row (this product records changes that happened).
            let wrong = try await client.request(.post, "/api/v2/users/login", json: ["email": "alice@example.com", "password": "Wr0ng-Passw0rd!!"])
            #expect(wrong.status == .unauthorized)

            let session = try await client.login("alice@example.com", password)
            let minted = try await client.request(.post, "/api/v2/users/alice/keys", token: owner.token)
            #expect(minted.status == .created)
            let token = try #require(try minted.json["key"] as? String)
            #expect(try await client.request(.put, "/api/v2/users/alice/status/suspend", token: owner.token).status == .ok)
            // Suspending a suspended user changes nothing: no row.
            #expect(try await client.request(.put, "/api/v2/users/alice/status/suspend", token: owner.token).status == .ok)
            #expect(try await client.request(.put, "/api/v2/users/alice/status/activate", token: owner.token).status == .ok)
            #expect(try await client.request(.post, "/api/v2/users/logout", token: session).status == .ok)

            let (rows, text) = try await Self.audit(client, owner.token)
            #expect(rows.count == 6, "\(text)")

            // Users: the creation, the suspension and the activation, by the owner.
            let users = rows.filter { $0["resource_type"] as? String == "user" }
            #expect(users.map { $0["action"] as? String } == ["write", "write", "create"])
            for row in users {
                #expect(row["resource_id"] as? String == aliceID)
                #expect(row["resource_target"] as? String == "alice")
                #expect(Self.actor(row) == "owner")
                #expect(row["organization_id"] as? String == org)
            }
            if users.count == 3 {
                let create = users[2], suspend = users[1], activate = users[0]
                #expect(create["status_code"] as? Int == 201)
                #expect(Self.diff(create)["username"]?["new"] as? String == "alice")
                #expect(Self.diff(create)["email"]?["new"] as? String == "alice@example.com")
                #expect(Self.diff(create)["login_type"]?["new"] as? String == "password")
                #expect(Self.diff(create)["status"]?["new"] as? String == "active")
                #expect(suspend["status_code"] as? Int == 200)
                #expect(Set(Self.diff(suspend).keys) == ["status"])
                #expect(Self.diff(suspend)["status"]?["old"] as? String == "active")
                #expect(Self.diff(suspend)["status"]?["new"] as? String == "suspended")
                #expect(Self.diff(activate)["status"]?["old"] as? String == "suspended")
                #expect(Self.diff(activate)["status"]?["new"] as? String == "active")
            }

            // API keys: the login (alice's own), the token (the owner's, for alice), the logout.
            let keys = rows.filter { $0["resource_type"] as? String == "api_key" }
            #expect(keys.map { $0["action"] as? String } == ["delete", "create", "create"])
            if keys.count == 3 {
                let logout = keys[0], mint = keys[1], login = keys[2]
                let sessionID = String(session.prefix(10)), tokenID = String(token.prefix(10))
                #expect(login["resource_target"] as? String == sessionID)
                #expect(login["resource_id"] as? String == AuditRecorder.apiKeyResourceID(sessionID).uuidString.lowercased())
                #expect(Self.actor(login) == "alice")
                #expect(login["status_code"] as? Int == 201)
                #expect(login["organization_id"] as? String == "00000000-0000-0000-0000-000000000000")
                #expect(Self.diff(login)["user_id"]?["new"] as? String == aliceID)
                #expect(Self.diff(login)["login_type"]?["new"] as? String == "password")
                #expect(Self.diff(login)["id"]?["new"] as? String == sessionID)

                #expect(mint["resource_target"] as? String == tokenID)
                #expect(mint["resource_id"] as? String == AuditRecorder.apiKeyResourceID(tokenID).uuidString.lowercased())
                #expect(Self.actor(mint) == "owner")
                #expect(Self.diff(mint)["user_id"]?["new"] as? String == aliceID)
                #expect(Self.diff(mint)["login_type"]?["new"] as? String == "token")

                // The logout deletes the login's key: the same resource, the key as it was.
                #expect(logout["resource_id"] as? String == login["resource_id"] as? String)
                #expect(logout["resource_target"] as? String == sessionID)
                #expect(Self.actor(logout) == "alice")
                #expect(logout["status_code"] as? Int == 200)
                #expect(Self.diff(logout)["user_id"]?["old"] as? String == aliceID)
            }

            // No secret in any row, in any column.
            let aliceUUID = try #require(UUID(uuidString: aliceID))
            let alice = try #require(try await store.user(id: aliceUUID))
            #expect(!alice.hashedPassword.isEmpty)
            var forbidden = Self.secrets(ofToken: session) + Self.secrets(ofToken: token) + Self.secrets(ofToken: owner.token)
            forbidden += [alice.hashedPassword, password, "pbkdf2", "argon", "hashed", TestClient.ownerPassword]
            for secret in forbidden {
                #expect(!text.contains(secret), "an audit row holds \(secret)")
            }
        }
    }

    @Test func templatesVersionsWorkspacesAndBuildsAreAudited() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let fileID = try await store.insertFile(hash: "h", createdBy: owner.userID, mimetype: "application/x-tar", data: [1])
            let version = try await client.request(.post, "/api/v2/organizations/\(org)/templateversions", json: [
                "storage_method": "file", "file_id": fileID.uuidString, "provisioner": "echo", "name": "v1",
            ], token: owner.token)
            #expect(version.status == .created)
            let versionID = try #require(try version.json["id"] as? String)
            let importJob = try #require(try UUID(uuidString: (version.json["job"] as? [String: Any])?["id"] as? String ?? ""))
            try await store.pool.query("UPDATE provisioner_jobs SET started_at = now(), completed_at = now() WHERE id = $1", [importJob])

            let template = try await client.request(.post, "/api/v2/organizations/\(org)/templates", json: [
                "name": "docker", "template_version_id": versionID,
            ], token: owner.token)
            #expect(template.status == .created)
            let templateID = try #require(try template.json["id"] as? String)
            // The same name again fails in the insert: no row.
            let again = try await client.request(.post, "/api/v2/organizations/\(org)/templates", json: [
                "name": "docker", "template_version_id": versionID,
            ], token: owner.token)
            #expect(again.status == .conflict)

            let workspace = try await client.request(.post, "/api/v2/organizations/\(org)/members/me/workspaces", json: [
                "name": "dev", "template_id": templateID,
            ], token: owner.token)
            #expect(workspace.status == .created)
            let workspaceID = try #require(try workspace.json["id"] as? String)
            let firstBuild = try #require(try workspace.json["latest_build"] as? [String: Any])
            let firstBuildID = try #require(firstBuild["id"] as? String)
            // The first build is still active: a second is refused inside the transaction, no row.
            let refused = try await client.request(.post, "/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": "stop"], token: owner.token)
            #expect(refused.status == .conflict)
            let firstJob = try #require(UUID(uuidString: (firstBuild["job"] as? [String: Any])?["id"] as? String ?? ""))
            try await store.pool.query("UPDATE provisioner_jobs SET started_at = now(), completed_at = now() WHERE id = $1", [firstJob])
            let stop = try await client.request(.post, "/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": "stop"], token: owner.token)
            #expect(stop.status == .created)
            let stopID = try #require(try stop.json["id"] as? String)

            let (rows, text) = try await Self.audit(client, owner.token)
            // A version, a template, a workspace with its first build, and the stop.
            #expect(rows.count == 5, "\(text)")
            for row in rows {
                #expect(row["action"] as? String == "create")
                #expect(row["status_code"] as? Int == 201)
                #expect(row["organization_id"] as? String == org)
                #expect(Self.actor(row) == "owner")
            }
            func only(_ type: String) -> [[String: Any]] { rows.filter { $0["resource_type"] as? String == type } }

            let versionRow = try #require(only("template_version").first)
            #expect(versionRow["resource_id"] as? String == versionID)
            #expect(versionRow["resource_target"] as? String == "v1")
            #expect(Self.diff(versionRow)["name"]?["new"] as? String == "v1")
            #expect(Self.diff(versionRow)["provisioner"]?["new"] as? String == "echo")
            #expect(Self.diff(versionRow)["file_id"]?["new"] as? String == fileID.uuidString.lowercased())

            let templateRow = try #require(only("template").first)
            #expect(templateRow["resource_id"] as? String == templateID)
            #expect(templateRow["resource_target"] as? String == "docker")
            #expect(Self.diff(templateRow)["name"]?["new"] as? String == "docker")
            #expect(Self.diff(templateRow)["active_version_id"]?["new"] as? String == versionID)
            // Its first ACL: Everyone (the organization's id) may use it.
            #expect(Self.diff(templateRow)["group_acl"]?["new"] as? [String: String] == [org: "use"])

            let workspaceRow = try #require(only("workspace").first)
            #expect(workspaceRow["resource_id"] as? String == workspaceID)
            #expect(workspaceRow["resource_target"] as? String == "dev")
            #expect(Self.diff(workspaceRow)["template_id"]?["new"] as? String == templateID)
            #expect(Self.diff(workspaceRow)["owner_id"]?["new"] as? String == owner.userID.uuidString.lowercased())

            // Builds: target the workspace's name, with Coder's additional fields.
            let builds = only("workspace_build")
            #expect(builds.map { $0["resource_id"] as? String } == [stopID, firstBuildID])
            for (row, (number, transition)) in zip(builds, [("2", "stop"), ("1", "start")]) {
                #expect(row["resource_target"] as? String == "dev")
                #expect(Self.diff(row)["transition"]?["new"] as? String == transition)
                #expect(Self.diff(row)["workspace_id"]?["new"] as? String == workspaceID)
                let fields = row["additional_fields"] as? [String: Any]
                #expect(fields?["workspace_name"] as? String == "dev")
                #expect(fields?["build_number"] as? String == number)
                #expect(fields?["build_reason"] as? String == "initiator")
            }
            // The workspace and its first build were one request: one request id.
            #expect(workspaceRow["request_id"] as? String == builds.last?["request_id"] as? String)
        }
    }

    @Test func nothingIsAuditedWhileTheAuditLogIsOff() async throws {
        try await withLicensedApp(enablements: [.auditLog: false, .templateRBAC: true]) { client, _, _ in
            let owner = try await licensedOwner(client)
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            #expect(try await client.request(.post, "/api/v2/users/alice/keys", token: owner.token).status == .created)
            #expect(try await client.request(.post, "/api/v2/users/logout", token: alice.token).status == .ok)
            #expect(try await client.request(.put, "/api/v2/users/alice/status/suspend", token: owner.token).status == .ok)
            #expect(try await Self.audit(client, owner.token).rows.isEmpty)
        }
    }

    @Test func anAPIKeysResourceIDIsAUUIDOnlyItsIDGives() {
        let a = AuditRecorder.apiKeyResourceID("abcdefghij")
        #expect(a == AuditRecorder.apiKeyResourceID("abcdefghij"))
        #expect(a != AuditRecorder.apiKeyResourceID("abcdefghik"))
        // RFC 9562: version 8 (custom), the RFC's variant.
        let text = a.uuidString.lowercased()
        #expect(Array(text)[14] == "8")
        #expect("89ab".contains(Array(text)[19]))
    }
}

extension ChangeAuditTests {
    @Test func aRoleChangeIsAuditedAndTheSameRolesAgainAreNot() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            let before = try await Self.audit(client, owner.token, "resource_type:user action:write").rows.count
            #expect(try await client.request(.put, "/api/v2/users/bob/roles", json: ["roles": ["template-admin"]], token: owner.token).status == .ok)
            // The same roles again change nothing: no row.
            #expect(try await client.request(.put, "/api/v2/users/bob/roles", json: ["roles": ["template-admin"]], token: owner.token).status == .ok)
            let rows = try await Self.audit(client, owner.token, "resource_type:user action:write").rows
            #expect(rows.count == before + 1)
            let row = try #require(rows.first)
            #expect(row["resource_id"] as? String == bob.id.uuidString.lowercased())
            #expect(row["resource_target"] as? String == "bob")
            #expect(Self.actor(row) == "owner")
            #expect(Self.diff(row)["roles"] != nil)
        }
    }
}

import Foundation
import Licensing
import Store
import Testing

/// License and appearance changes write their audit row in the same transaction: a change that
/// happens has its row, one that fails has none, and none is written while `audit_log` is off.
/// (As in Coder, the first license is not audited: before it, the audit log is not licensed.)
@Suite struct LicensingAuditTests {
    func logs(_ client: TestClient, _ token: String) async throws -> [[String: Any]] {
        let response = try await client.request(.get, "/api/v2/audit", token: token)
        #expect(response.status == .ok)
        return try response.json["audit_logs"] as? [[String: Any]] ?? []
    }

    @Test func addingAndDeletingALicenseIsAuditedWithTheJWTKeptSecret() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            #expect(try await logs(client, owner.token).isEmpty)
            let added = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT()], token: owner.token, headers: [.userAgent: "audit-test/1"])
            #expect(added.status == .created)
            let id = try #require(try added.json["id"] as? Int)
            let uuid = try #require(try added.json["uuid"] as? String)
            #expect(try await client.request(.delete, "/api/v2/licenses/\(id)", token: owner.token).status == .ok)

            let rows = try await logs(client, owner.token)
            #expect(rows.map { $0["action"] as? String } == ["delete", "create"])
            for row in rows {
                #expect(row["resource_type"] as? String == "license")
                #expect(row["resource_id"] as? String == uuid)
                #expect(row["resource_target"] as? String == String(id))
                #expect((row["user"] as? [String: Any])?["username"] as? String == "owner")
            }
            let create = rows[1]
            #expect(create["status_code"] as? Int == 201)
            #expect(create["user_agent"] as? String == "audit-test/1")
            let jwt = try #require((create["diff"] as? [String: [String: Any]])?["jwt"])
            #expect(jwt["secret"] as? Bool == true)
            #expect(jwt["new"] as? String == "")
        }
    }

    @Test func aChangeThatFailsLeavesNoAuditRow() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let jwt = try licenseJWT()
            #expect(try await client.request(.post, "/api/v2/licenses", json: ["license": jwt], token: owner.token).status == .created)
            // The same license again fails in the insert, inside the transaction the row was in.
            #expect(try await client.request(.post, "/api/v2/licenses", json: ["license": jwt], token: owner.token).status == .conflict)
            #expect(try await client.request(.delete, "/api/v2/licenses/999", token: owner.token).status == .notFound)
            #expect(try await client.request(.put, "/api/v2/appearance", json: ["logo_url": "ftp://x"], token: owner.token).status == .badRequest)
            let rows = try await logs(client, owner.token)
            #expect(rows.map { $0["action"] as? String } == ["create"])
        }
    }

    @Test func anAppearanceUpdateIsAuditedWithWhatChanged() async throws {
        try await withLicensedApp { client, _, services in
            let owner = try await licensedOwner(client)
            #expect(try await client.request(.put, "/api/v2/appearance", json: ["logo_url": "https://example.com/a.png"], token: owner.token).status == .ok)
            let row = try #require(try await logs(client, owner.token).first)
            #expect(row["resource_type"] as? String == "appearance")
            #expect(row["action"] as? String == "write")
            #expect(row["resource_id"] as? String == services.deploymentID.uuidString.lowercased())
            let logo = try #require((row["diff"] as? [String: [String: Any]])?["logo_url"])
            #expect(logo["old"] as? String == "")
            #expect(logo["new"] as? String == "https://example.com/a.png")
        }
    }

    @Test func nothingIsAuditedWhileTheAuditLogIsSwitchedOff() async throws {
        try await withLicensedApp(enablements: [.auditLog: false, .templateRBAC: true]) { client, _, _ in
            let owner = try await licensedOwner(client)
            #expect(try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT()], token: owner.token).status == .created)
            #expect(try await logs(client, owner.token).isEmpty)
        }
    }
}

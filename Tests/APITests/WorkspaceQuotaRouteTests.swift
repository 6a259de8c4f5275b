@testable import API
import Foundation
import Hummingbird
import HummingbirdTesting
import Licensing
import Postgres
import Store
import Testing

/// `GET /workspace-quota/{user}` and `GET /organizations/{organization}/members/{user}/workspace-quota`.
@Suite struct WorkspaceQuotaRouteTests {
    /// A router whose only enabled features are `enabled`.
    static func withQuotaApp(enabled: Set<FeatureName> = [.templateRBAC], _ body: @escaping @Sendable (TestClient, Store) async throws -> Void) async throws {
        let (_, store) = try await migratedStore()
        do {
            var configuration = APIServer.Configuration(version: "test", accessURL: "http://localhost")
            configuration.passwordHashing = .testCost
            let router = APIServer(store: store, configuration: configuration, features: FeatureGateTests.Only(enabled: enabled)).makeRouter()
            try await Application(router: router, logger: testLogger).test(.router) { client in try await body(TestClient(client: client), store) }
            await store.pool.close()
        } catch {
            await store.pool.close()
            throw error
        }
    }

    /// A workspace of `ownerID` whose latest build costs `cost` a day.
    static func workspace(_ store: Store, _ name: String, ownerID: UUID, organizationID: UUID, cost: Int64) async throws {
        let fileID = try await store.insertFile(hash: name, createdBy: ownerID, mimetype: "application/x-tar", data: [1])
        func job(_ type: ProvisionerJobType) -> NewProvisionerJob {
            NewProvisionerJob(organizationID: organizationID, initiatorID: ownerID, provisioner: "echo", type: type, fileID: fileID, input: "{}", tags: [:])
        }
        let version = try await store.createTemplateVersion(name: name, templateID: nil, job: job(.templateVersionImport))
        let template = try await store.createTemplate(
            organizationID: organizationID, name: name, displayName: "", description: "", versionID: version.id, provisioner: "echo", createdBy: ownerID
        )
        let (_, build) = try await store.createWorkspace(
            ownerID: ownerID, organizationID: organizationID, templateID: template.id, versionID: version.id, name: name, job: job(.workspaceBuild)
        )
        try await store.pool.query("UPDATE workspace_builds SET daily_cost = $2 WHERE id = $1", [build.id, cost])
    }

    /// Groups with plain SQL (not the groups Store functions).
    static func group(_ store: Store, _ name: String, organizationID: UUID, allowance: Int32, members: [UUID]) async throws -> UUID {
        let id = UUID()
        try await store.pool.query("INSERT INTO groups (id, name, organization_id, quota_allowance) VALUES ($1, $2, $3, $4)", [id, name, organizationID, allowance])
        for member in members { try await store.pool.query("INSERT INTO group_members (user_id, group_id) VALUES ($1, $2)", [member, id]) }
        return id
    }

    @Test func theQuotaIsExplainedByTheGroupsAndCountsTheLatestBuilds() async throws {
        try await Self.withQuotaApp { client, store in
            let owner = try await client.setUpOwner()
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            try await store.pool.query("UPDATE groups SET quota_allowance = 3 WHERE id = $1", [owner.organizationID])
            let devs = try await Self.group(store, "devs", organizationID: owner.organizationID, allowance: 10, members: [bob.id])
            try await Self.workspace(store, "a", ownerID: bob.id, organizationID: owner.organizationID, cost: 4)
            try await Self.workspace(store, "b", ownerID: bob.id, organizationID: owner.organizationID, cost: 5)
            try await Self.workspace(store, "c", ownerID: owner.userID, organizationID: owner.organizationID, cost: 100)

            for path in ["/api/v2/workspace-quota/me", "/api/v2/workspace-quota/bob", "/api/v2/workspace-quota/\(bob.id)",
                         "/api/v2/organizations/\(owner.organizationID)/members/me/workspace-quota"] {
                let response = try await client.request(.get, path, token: bob.token)
                #expect(response.status == .ok, "\(path)")
                #expect(try response.json["budget"] as? Int == 13)
                #expect(try response.json["credits_consumed"] as? Int == 9)
                let allowances = try response.json["allowances"] as? [[String: Any]] ?? []
                #expect(allowances.map { $0["group_name"] as? String } == ["Everyone", "devs"])
                #expect(allowances.map { $0["group_id"] as? String } == [owner.organizationID.uuidString.lowercased(), devs.uuidString.lowercased()])
                #expect(allowances.map { $0["quota_allowance"] as? Int } == [3, 10])
            }
        }
    }

    @Test func theUserUserAdminsAndOwnersReadItOthersGet404() async throws {
        try await Self.withQuotaApp { client, store in
            let owner = try await client.setUpOwner()
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            let carol = try await client.createMember("carol", organizationID: owner.organizationID, token: owner.token)
            let admin = try await AuditTests.login(client, store, "ursula", roles: ["user-admin"], organizationID: owner.organizationID)
            let templateAdmin = try await AuditTests.login(client, store, "tess", roles: ["template-admin"], organizationID: owner.organizationID)
            for (token, status) in [(bob.token, 200), (owner.token, 200), (admin, 200), (carol.token, 404), (templateAdmin, 404)] {
                for path in ["/api/v2/workspace-quota/bob", "/api/v2/organizations/\(owner.organizationID)/members/\(bob.id)/workspace-quota"] {
                    let response = try await client.request(.get, path, token: token)
                    #expect(response.status.code == status, "\(path)")
                    if status == 404 { #expect(try response.message == "Resource not found or you do not have access to this resource") }
                }
            }
            #expect(try await client.request(.get, "/api/v2/workspace-quota/bob").status == .unauthorized)
            #expect(try await client.request(.get, "/api/v2/workspace-quota/nobody", token: owner.token).status == .badRequest)
            // An organization the caller may not read is not there for them.
            let other = UUID()
            try await store.pool.query("INSERT INTO organizations (id, name) VALUES ($1, 'other')", [other])
            #expect(try await client.request(.get, "/api/v2/organizations/\(other)/members/me/workspace-quota", token: bob.token).status == .notFound)
        }
    }

    @Test func withoutTemplateRBACTheBudgetIsMinusOne() async throws {
        try await Self.withQuotaApp(enabled: []) { client, store in
            let owner = try await client.setUpOwner()
            try await store.pool.query("UPDATE groups SET quota_allowance = 3 WHERE id = $1", [owner.organizationID])
            try await Self.workspace(store, "a", ownerID: owner.userID, organizationID: owner.organizationID, cost: 4)
            let response = try await client.request(.get, "/api/v2/workspace-quota/me", token: owner.token)
            #expect(response.status == .ok)
            #expect(try response.json["budget"] as? Int == -1)
            #expect(try response.json["credits_consumed"] as? Int == 4)
            #expect(try (response.json["allowances"] as? [Any])?.isEmpty == true)
        }
    }
}

import Crypto
import Foundation
import Licensing
import Postgres
import TestSupport
import Testing

/// Workspace quotas end to end: a licensed replica, an `echo` daemon (both in this process),
/// builds held to the owner's budget through `commit_quota`.
@Suite struct QuotaTests {
    let provisioners = ProvisionerTests()

    /// A template whose start costs `cost` a day (and a stop `stopCost`), imported and created.
    func template(_ setup: ProvisioningSetup, cost: Int, stopCost: Int = 0) async throws -> String {
        let member = setup.cluster.members[0]
        let versionID = try await provisioners.postImport(setup, through: member, manifest: [
            "resources": [["name": "dev", "type": "vm", "daily_cost": cost]], "stop_daily_cost": stopCost,
        ])
        try await eventually("import succeeded", timeout: .seconds(30)) {
            try await provisioners.job(setup, versionID, at: member)["status"] as? String == "succeeded"
        }
        let template = try await HTTP.request(.POST, "\(member.base)/api/v2/organizations/\(setup.organizationID)/templates", json: [
            "name": "t\(cost)", "template_version_id": versionID,
        ], token: setup.cluster.token)
        #expect(template.status == 201)
        return try #require(try template.json["id"] as? String)
    }

    /// Creates a workspace and waits for its first build to end; returns the build.
    func workspace(_ setup: ProvisioningSetup, _ name: String, template: String) async throws -> [String: Any] {
        let base = setup.cluster.members[0].base
        let workspace = try await HTTP.request(.POST, "\(base)/api/v2/organizations/\(setup.organizationID)/members/me/workspaces", json: [
            "name": name, "template_id": template,
        ], token: setup.cluster.token)
        #expect(workspace.status == 201)
        let buildID = try #require(try (workspace.json["latest_build"] as? [String: Any])?["id"] as? String)
        return try await ended(setup, buildID)
    }

    func ended(_ setup: ProvisioningSetup, _ buildID: String) async throws -> [String: Any] {
        var build: [String: Any] = [:]
        try await eventually("build \(buildID) ended", timeout: .seconds(30)) {
            let response = try await HTTP.request(.GET, "\(setup.cluster.members[0].base)/api/v2/workspacebuilds/\(buildID)", token: setup.cluster.token)
            guard response.status == 200 else { return false }
            build = try response.json
            return ["running", "stopped", "failed"].contains(build["status"] as? String)
        }
        return build
    }

    func quota(_ setup: ProvisioningSetup) async throws -> (budget: Int?, consumed: Int?) {
        let quota = try await HTTP.request(.GET, "\(setup.cluster.members[0].base)/api/v2/workspace-quota/me", token: setup.cluster.token)
        guard quota.status == 200 else { throw TestSetupError("GET /workspace-quota/me: \(quota.status)") }
        return try (quota.json["budget"] as? Int, quota.json["credits_consumed"] as? Int)
    }

    @Test func buildsAreHeldToTheBudgetOnceTemplateRBACIsLicensed() async throws {
        try await provisioners.withSetUp(replicas: 1, extra: LicensingClusterTests.keyFlag) { setup in
            let base = setup.cluster.members[0].base
            try await provisioners.withDaemon([setup.cluster.members[0]], name: "d-quota") { _ in
                try await withPool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1)) { pool in
                    try await pool.query("UPDATE groups SET quota_allowance = 7 WHERE id = $1", [UUID(uuidString: setup.organizationID)])
                    let template = try await template(setup, cost: 5, stopCost: 1)

                    // Unlicensed: no budget (−1), and nothing is refused.
                    #expect(try await workspace(setup, "free", template: template)["status"] as? String == "running")
                    #expect(try await quota(setup) == (-1, 5))

                    #expect(try await HTTP.request(.POST, "\(base)/api/v2/licenses", json: ["license": try LicensingClusterTests.license(features: [:])], token: setup.cluster.token).status == 201)
                    try await eventually("quota enforced") { try await quota(setup).budget == 7 }
                    // 5 of 7 used: a second workspace at 5 does not fit and fails with Coder's reason.
                    let refused = try await workspace(setup, "second", template: template)
                    #expect(refused["status"] as? String == "failed")
                    #expect((refused["job"] as? [String: Any])?["error"] as? String == "insufficient quota")
                    #expect(try await quota(setup) == (7, 5))

                    // Stopping the first keeps its disk (1): now the second fits (1 + 5 ≤ 7).
                    let workspaces = try await pool.query("SELECT id::text FROM workspaces WHERE name = 'free'")
                    let freeID = try #require(try workspaces.first?.decode(0, as: String.self))
                    let stop = try await HTTP.request(.POST, "\(base)/api/v2/workspaces/\(freeID)/builds", json: ["transition": "stop"], token: setup.cluster.token)
                    #expect(stop.status == 201)
                    let stopID = try #require(try stop.json["id"] as? String)
                    #expect(try await ended(setup, stopID)["status"] as? String == "stopped")
                    #expect(try await quota(setup) == (7, 1))
                    #expect(try await workspace(setup, "third", template: template)["status"] as? String == "running")
                    #expect(try await quota(setup) == (7, 6))
                }
            }
        }
    }
}

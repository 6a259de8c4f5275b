import Crypto
import Foundation
import Licensing
import TestSupport
import Testing

/// Licenses, entitlements and appearance on replicas sharing one database: a change on one
/// replica is what every other one serves, and the HA check counts only replicas past the grace.
/// Each test waits for the state it expects; nothing here measures (scripts/bench/entitlements
/// does). Replicas run in this process unless a test stops one with a signal or gives it
/// environment variables; two a test, one test at a time.
@Suite(.serialized) struct LicensingClusterTests {
    static let key = try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 3, count: 32))
    static let issuer = LicenseIssuer(privateKey: key, keyID: "cluster-key")
    static var keyFlag: [String] { ["--license-public-key", LicenseKeyRing.flagValue(kid: "cluster-key", publicKey: key.publicKey)] }

    static func license(features: [String: Int64] = ["user_limit": 7], allFeatures: Bool = true) throws -> String {
        let now = Date()
        var claims = LicenseClaims(issuedAt: now.addingTimeInterval(-60), licenseExpires: now.addingTimeInterval(365 * 86_400), graceEnds: now.addingTimeInterval(395 * 86_400))
        claims.allFeatures = allFeatures
        claims.features = features
        return try issuer.issue(claims)
    }

    /// Replicas of `kinds` (in order) trusting the cluster key, with `haGrace`, on a fresh
    /// database, the owner created; every replica is stopped once `body` returns or throws.
    func withCluster(_ kinds: [ReplicaCluster.Kind], haGrace: String, _ body: (ReplicaCluster) async throws -> Void) async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            for kind in kinds { try await cluster.start(kind, extra: Self.keyFlag + ["--ha-grace", haGrace]) }
            try await cluster.createOwner()
            try await body(cluster)
        }
    }

    func entitlements(_ member: ReplicaCluster.Member) async throws -> [String: Any] {
        let response = try await HTTP.request(.GET, "\(member.base)/api/v2/entitlements", timeout: .seconds(5))
        guard response.status == 200 else { throw TestSetupError("GET /entitlements: \(response.status)") }
        return try response.json
    }

    func userLimit(_ entitlements: [String: Any]) -> [String: Any]? {
        (entitlements["features"] as? [String: [String: Any]])?["user_limit"]
    }

    @Test func twoReplicasAgreeAfterEveryLicenseAndUserChange() async throws {
        try await withCluster([.inProcess, .inProcess], haGrace: "1h") { cluster in
            let (a, b) = (cluster.members[0], cluster.members[1])

            let added = try await HTTP.request(.POST, "\(a.base)/api/v2/licenses", json: ["license": try Self.license()], token: cluster.token)
            #expect(added.status == 201)
            let id = try #require(try added.json["id"] as? Int)
            try await eventually("B sees the license") {
                let seen = try await entitlements(b)
                return seen["has_license"] as? Bool == true && userLimit(seen)?["limit"] as? Int == 7
            }
            let listed = try await HTTP.request(.GET, "\(b.base)/api/v2/licenses", token: cluster.token)
            #expect(listed.status == 200)
            #expect(try listed.jsonArray.map { $0["id"] as? Int } == [id])

            // A user created on A is counted on B.
            let organizations = try await HTTP.request(.GET, "\(a.base)/api/v2/users/me/organizations", token: cluster.token)
            #expect(organizations.status == 200)
            let organizationID = try #require(try organizations.jsonArray.first?["id"] as? String)
            let created = try await HTTP.request(.POST, "\(a.base)/api/v2/users", json: [
                "email": "second@example.com", "username": "second", "password": "An0ther-Passw0rd!", "organization_id": organizationID,
            ], token: cluster.token)
            #expect(created.status == 201)
            try await eventually("B counts the new user") { userLimit(try await entitlements(b))?["actual"] as? Int == 2 }
            // Suspended on B: counted out on A.
            let userID = try #require(try created.json["id"] as? String)
            #expect(try await HTTP.request(.PUT, "\(b.base)/api/v2/users/\(userID)/status/suspend", token: cluster.token).status == 200)
            try await eventually("A counts the suspension") { userLimit(try await entitlements(a))?["actual"] as? Int == 1 }
            // Activated again on A: counted again on B.
            #expect(try await HTTP.request(.PUT, "\(a.base)/api/v2/users/\(userID)/status/activate", token: cluster.token).status == 200)
            try await eventually("B counts the activation") { userLimit(try await entitlements(b))?["actual"] as? Int == 2 }

            let deleted = try await HTTP.request(.DELETE, "\(a.base)/api/v2/licenses/\(id)", token: cluster.token)
            #expect(deleted.status == 200)
            try await eventually("B sees the license gone") { try await entitlements(b)["has_license"] as? Bool == false }
            // Within the grace, the second replica raised no HA error on either.
            for member in [a, b] {
                #expect((try await entitlements(member)["errors"] as? [String]) == [])
            }
        }
    }

    @Test func appearanceSetOnOneReplicaIsShownByTheOther() async throws {
        try await withCluster([.inProcess, .inProcess], haGrace: "1h") { cluster in
            let (a, b) = (cluster.members[0], cluster.members[1])
            #expect(try await HTTP.request(.POST, "\(a.base)/api/v2/licenses", json: ["license": try Self.license()], token: cluster.token).status == 201)
            try await eventually("B entitled to appearance") {
                let features = try await entitlements(b)["features"] as? [String: [String: Any]]
                return features?["appearance"]?["enabled"] as? Bool == true
            }
            let put = try await HTTP.request(.PUT, "\(a.base)/api/v2/appearance", json: [
                "logo_url": "https://example.com/cluster.png",
                "service_banner": ["enabled": true, "message": "from A", "background_color": "#336699"],
            ], token: cluster.token)
            #expect(put.status == 200)
            try await eventually("B shows A's appearance") {
                let got = try await HTTP.request(.GET, "\(b.base)/api/v2/appearance", token: cluster.token)
                guard got.status == 200 else { return false }
                return try got.json["logo_url"] as? String == "https://example.com/cluster.png"
                    && (got.json["service_banner"] as? [String: Any])?["message"] as? String == "from A"
            }
        }
    }

    @Test func theHAErrorAppearsPastTheGraceAndGoesWithTheExtraReplica() async throws {
        // B is a process: it is stopped with SIGTERM and its exit status checked.
        try await withCluster([.inProcess, .process], haGrace: "0s") { cluster in
            let (a, b) = (cluster.members[0], cluster.members[1])
            // A license without high availability.
            #expect(try await HTTP.request(.POST, "\(a.base)/api/v2/licenses", json: ["license": try Self.license(features: ["audit_log": 1], allFeatures: false)], token: cluster.token).status == 201)
            let error = "You have multiple replicas but your license is not entitled to high availability. You will be unable to connect to workspaces."
            for member in [a, b] {
                try await eventually("HA error on :\(member.port)") { (try await entitlements(member)["errors"] as? [String]) == [error] }
            }
            try b.process.signal(SIGTERM)
            #expect(try await b.process.waitForExit() == 0)
            try await eventually("HA error gone with B", timeout: .seconds(10)) { (try await entitlements(a)["errors"] as? [String]) == [] }
        }
    }

    /// The key ring from the environment (comma-separated `KID=KEY`), and the HA grace at its
    /// default (1m): a second replica that just started raises no error.
    @Test func keysFromTheEnvironmentAndTheDefaultHAGrace() async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            let other = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 4, count: 32))
            let keys = [LicenseKeyRing.flagValue(kid: "cluster-key", publicKey: Self.key.publicKey), LicenseKeyRing.flagValue(kid: "other-key", publicKey: other.publicKey)]
            // Processes: the keys come from their environment.
            for _ in 0..<2 { try await cluster.start(.process, environment: ["COORDINATOR_LICENSE_PUBLIC_KEYS": keys.joined(separator: " , ")]) }
            try await cluster.createOwner()
            let (a, b) = (cluster.members[0], cluster.members[1])
            var claims = LicenseClaims(issuedAt: Date().addingTimeInterval(-60), licenseExpires: Date().addingTimeInterval(86_400), graceEnds: Date().addingTimeInterval(2 * 86_400))
            claims.features = ["audit_log": 1]
            let signedByOther = try LicenseIssuer(privateKey: other, keyID: "other-key").issue(claims)
            #expect(try await HTTP.request(.POST, "\(a.base)/api/v2/licenses", json: ["license": try Self.license(allFeatures: false)], token: cluster.token).status == 201)
            #expect(try await HTTP.request(.POST, "\(b.base)/api/v2/licenses", json: ["license": signedByOther], token: cluster.token).status == 201)
            // Both replicas see both: two live replicas, without high_availability, under the grace.
            try await eventually("both replicas list both") {
                for member in [a, b] where try await cluster.replicaIDs(at: member).count != 2 { return false }
                for member in [a, b] {
                    let licenses = try await HTTP.request(.GET, "\(member.base)/api/v2/licenses", token: cluster.token)
                    guard licenses.status == 200, try licenses.jsonArray.count == 2 else { return false }
                }
                return true
            }
            for member in [a, b] {
                let seen = try await entitlements(member)
                #expect(seen["errors"] as? [String] == [], "the default grace of 1m counts no second replica yet")
                #expect((seen["features"] as? [String: [String: Any]])?["audit_log"]?["entitlement"] as? String == "entitled")
            }
        }
    }

    @Test func aBadLicenseKeyStopsTheServerNamingTheFlag() async throws {
        let db = try await TestDatabase.create()
        let port = try freePort()
        let server = try CoordinatorProcess(
            ["server", "--postgres-url", db.url, "--http-address", "127.0.0.1:\(port)"],
            environment: ["COORDINATOR_LICENSE_PUBLIC_KEYS": "k1=not-a-key"]
        )
        #expect(try await server.waitForExit() != 0)
        #expect(server.log.contains("--license-public-key:"), "\(server.log)")
    }
}

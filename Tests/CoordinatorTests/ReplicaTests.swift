import Foundation
import Postgres
import TestSupport
import Testing

/// Real replicas on one database; each test waits for events with generous deadlines and measures
/// nothing (scripts/bench/failover measures).
@Suite(.serialized) struct ReplicaTests {
    func cluster(_ count: Int) async throws -> ReplicaCluster {
        let db = try await TestDatabase.createMigrated()
        let cluster = ReplicaCluster(databaseURL: db.url)
        for _ in 0..<count { try await cluster.start() }
        try await cluster.createOwner()
        return cluster
    }

    @Test func threeReplicasListTheSameThree() async throws {
        let cluster = try await cluster(3)
        var ids = Set<String>()
        for member in cluster.members { ids.insert(try await cluster.ownID(member)) }
        #expect(ids.count == 3)
        try await cluster.waitUntilAll(cluster.members, see: ids, "three replicas")

        let entry = try #require(try await cluster.replicas(at: cluster.members[0]).first)
        for field in ["created_at", "database_latency", "error", "hostname", "id", "region_id", "relay_address", "version", "started_at", "updated_at"] {
            #expect(entry[field] != nil, "missing \(field)")
        }
        #expect((entry["database_latency"] as? Int ?? 0) > 0)
        #expect(entry["error"] as? String == "")
    }

    @Test func killedAndStoppedReplicasDisappear() async throws {
        let cluster = try await cluster(3)
        var ids: [String] = []
        for member in cluster.members { ids.append(try await cluster.ownID(member)) }
        try await cluster.waitUntilAll(cluster.members, see: Set(ids), "three replicas")

        cluster.members[2].process.signal(SIGKILL)
        try await cluster.waitUntilAll(Array(cluster.members[0..<2]), see: Set(ids[0..<2]), "SIGKILLed replica dropped", timeout: .seconds(10))

        cluster.members[1].process.signal(SIGTERM)
        #expect(try await cluster.members[1].process.waitForExit() == 0)
        try await cluster.waitUntilAll([cluster.members[0]], see: [ids[0]], "SIGTERMed replica dropped", timeout: .seconds(10))
        let pool = DatabasePool(.init(connectionString: cluster.databaseURL, maximumConnections: 1))
        let stopped = try await pool.query("SELECT stopped_at IS NOT NULL FROM replicas WHERE id = $1", [UUID(uuidString: ids[1])!]).first
        #expect(try stopped?.decode(0, as: Bool.self) == true)
        // The killed one could not say goodbye: its row has no stopped_at, yet it is not listed.
        let killed = try await pool.query("SELECT stopped_at IS NULL FROM replicas WHERE id = $1", [UUID(uuidString: ids[2])!]).first
        #expect(try killed?.decode(0, as: Bool.self) == true)
        await pool.close()
    }

    @Test func aSilentReplicaIsDroppedAfterStalenessAndComesBack() async throws {
        let cluster = try await cluster(3)
        var ids: [String] = []
        for member in cluster.members { ids.append(try await cluster.ownID(member)) }
        try await cluster.waitUntilAll(cluster.members, see: Set(ids), "three replicas")

        let silent = cluster.members[2].process
        silent.signal(SIGSTOP)
        try await cluster.waitUntilAll(Array(cluster.members[0..<2]), see: Set(ids[0..<2]), "stopped replica dropped", timeout: .seconds(15))
        silent.signal(SIGCONT)
        try await cluster.waitUntilAll(cluster.members, see: Set(ids), "continued replica back", timeout: .seconds(15))
    }

    @Test func unreachableRelayIsReportedAndClearedWhenReachable() async throws {
        let cluster = try await cluster(1)
        let relayPort = try freePort()
        // A peer whose relay address nobody listens on (yet).
        let peer = try await cluster.start(relayPort: relayPort)
        let first = cluster.members[0]
        let firstID = try await cluster.ownID(first)
        var reported = ""
        try await eventually("relay error reported", timeout: .seconds(20)) {
            let me = try await cluster.replicas(at: first).first { $0["id"] as? String == firstID }
            reported = me?["error"] as? String ?? ""
            return reported.contains("127.0.0.1:\(relayPort)")
        }
        #expect(reported.hasPrefix("Failed to dial peers: relay "))
        #expect(reported.contains("(http://127.0.0.1:\(relayPort))"))
        #expect(peer.process.isRunning)

        // Something now answers at that address: the error clears.
        let answering = try CoordinatorProcess([
            "server", "--postgres-url", cluster.databaseURL, "--http-address", "127.0.0.1:\(relayPort)",
            "--relay-address", "http://127.0.0.1:\(relayPort)", "--log-level", "warning",
        ])
        defer { answering.signal(SIGKILL) }
        try await eventually("relay error cleared", timeout: .seconds(20)) {
            let me = try await cluster.replicas(at: first).first { $0["id"] as? String == firstID }
            return (me?["error"] as? String) == ""
        }
    }

    @Test func replicasSurviveADatabaseRestart() async throws {
        let dataDir = "/tmp/coord-restart-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let database = try EmbeddedPostgres(dataDirectory: dataDir)
        try database.start()
        defer { try? database.stop() }
        let cluster = ReplicaCluster(databaseURL: database.connectionString)
        for _ in 0..<3 { try await cluster.start() }
        try await cluster.createOwner()
        var ids: [String] = []
        for member in cluster.members { ids.append(try await cluster.ownID(member)) }
        try await cluster.waitUntilAll(cluster.members, see: Set(ids), "three replicas")

        try database.stop()
        // While the database is down, each replica keeps answering from its snapshot and says why.
        try await eventually("outage reported", timeout: .seconds(20)) {
            let me = try await cluster.replicas(at: cluster.members[0]).first { $0["id"] as? String == ids[0] }
            return (me?["error"] as? String)?.contains("Database unreachable") == true
        }
        try database.start()

        for member in cluster.members { #expect(member.process.isRunning, "replica exited:\n\(cluster.logs())") }
        try await cluster.waitUntilAll(cluster.members, see: Set(ids), "three replicas after restart", timeout: .seconds(30))
        // Errors clear once the database and pubsub (its self-test) work again.
        for (member, id) in zip(cluster.members, ids) {
            try await eventually("error cleared on :\(member.port)", timeout: .seconds(30)) {
                let me = try await cluster.replicas(at: member).first { $0["id"] as? String == id }
                return (me?["error"] as? String) == ""
            }
            let health = try await HTTP.request(.GET, "\(member.base)/healthz")
            #expect(health.status == 200)
        }
        // Pubsub delivers again: a graceful stop is seen by the others through NOTIFY.
        cluster.members[2].process.signal(SIGTERM)
        try await cluster.waitUntilAll(Array(cluster.members[0..<2]), see: Set(ids[0..<2]), "stop seen after restart", timeout: .seconds(10))
    }

    @Test func onlyOwnersSeeReplicas() async throws {
        let cluster = try await cluster(1)
        let base = cluster.members[0].base
        let me = try await HTTP.request(.GET, "\(base)/api/v2/users/me", token: cluster.token)
        #expect(me.status == 200)
        let organization = try #require(try (me.json["organization_ids"] as? [String])?.first)
        let created = try await HTTP.request(.POST, "\(base)/api/v2/users", json: [
            "email": "m@example.com", "username": "member", "password": "M3mber-Passw0rd!", "organization_id": organization,
        ], token: cluster.token)
        #expect(created.status == 201)
        let login = try await HTTP.request(.POST, "\(base)/api/v2/users/login", json: ["email": "m@example.com", "password": "M3mber-Passw0rd!"])
        #expect(login.status == 201)
        let memberToken = try #require(try login.json["session_token"] as? String)
        let denied = try await HTTP.request(.GET, "\(base)/api/v2/replicas", token: memberToken)
        #expect(denied.status == 404)
        #expect(try denied.json["message"] as? String == "Resource not found or you do not have access to this resource")
        #expect(try await HTTP.request(.GET, "\(base)/api/v2/replicas").status == 401)
    }

    @Test func badReplicaFlagsStopTheServerWithOneLine() async throws {
        let db = try await TestDatabase.create()
        for (flags, expected) in [
            (["--relay-address", "ftp://x"], "--relay-address must be an http or https URL"),
            (["--heartbeat-interval", "0s"], "--heartbeat-interval must be positive"),
            (["--heartbeat-interval", "soon"], "--heartbeat-interval must be a duration"),
        ] {
            let process = try CoordinatorProcess(["server", "--postgres-url", db.url, "--http-address", "127.0.0.1:\(try freePort())"] + flags)
            #expect(try await process.waitForExit() == 1)
            let errors = process.log.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1)
            #expect(errors.first?.contains(expected) == true, "\(process.log)")
        }
    }

    @Test func logoutAndSuspensionReachEveryReplicasTokenCache() async throws {
        let cluster = try await cluster(2)
        let (a, b) = (cluster.members[0], cluster.members[1])
        // Warm both caches.
        #expect(try await HTTP.request(.GET, "\(a.base)/api/v2/users/me", token: cluster.token).status == 200)
        #expect(try await HTTP.request(.GET, "\(b.base)/api/v2/users/me", token: cluster.token).status == 200)
        #expect(try await HTTP.request(.POST, "\(a.base)/api/v2/users/logout", token: cluster.token).status == 200)
        try await eventually("logout seen by the peer", timeout: .seconds(10)) {
            try await HTTP.request(.GET, "\(b.base)/api/v2/users/me", token: cluster.token).status == 401
        }
    }
}

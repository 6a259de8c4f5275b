import Foundation
import Postgres
import TestSupport
import Testing

/// Replicas on one database; each test waits for events with generous deadlines and measures
/// nothing (scripts/bench/failover measures).
@Suite struct ReplicaTests {
    /// Starts one replica of each of `kinds` (in order) on a fresh database, creates the owner
    /// through the first, and runs `body`; every replica is stopped once it returns or throws.
    static func withCluster(_ kinds: [ReplicaCluster.Kind], _ body: (ReplicaCluster) async throws -> Void) async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            for kind in kinds { try await cluster.start(kind) }
            try await cluster.createOwner()
            try await body(cluster)
        }
    }

    /// What replicas that stay up agree on: the list of replicas, who may read it, and a logout
    /// seen by every replica's token cache. In this process; several replicas a test, one test at
    /// a time.
    @Suite(.serialized) struct Agreement {
        @Test func threeReplicasListTheSameThree() async throws {
            try await ReplicaTests.withCluster([.inProcess, .inProcess, .inProcess]) { cluster in
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
        }

        @Test func onlyOwnersSeeReplicas() async throws {
            try await ReplicaTests.withCluster([.inProcess]) { cluster in
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
        }

        @Test func logoutAndSuspensionReachEveryReplicasTokenCache() async throws {
            try await ReplicaTests.withCluster([.inProcess, .inProcess]) { cluster in
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
    }

    /// Replicas that die, stall, exit, cannot reach a peer's relay, lose their database or refuse
    /// their flags, and what the others make of it. The replicas signalled, watched for exiting or
    /// refusing to start are processes; the rest run in this process. One test at a time: their
    /// deadlines are heartbeats.
    @Suite(.serialized) struct Failures {
        @Test func killedAndStoppedReplicasDisappear() async throws {
            try await ReplicaTests.withCluster([.inProcess, .process, .process]) { cluster in
                var ids: [String] = []
                for member in cluster.members { ids.append(try await cluster.ownID(member)) }
                try await cluster.waitUntilAll(cluster.members, see: Set(ids), "three replicas")

                try cluster.members[2].process.signal(SIGKILL)
                try await cluster.waitUntilAll(Array(cluster.members[0..<2]), see: Set(ids[0..<2]), "SIGKILLed replica dropped", timeout: .seconds(10))

                try cluster.members[1].process.signal(SIGTERM)
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
        }

        @Test func aSilentReplicaIsDroppedAfterStalenessAndComesBack() async throws {
            try await ReplicaTests.withCluster([.inProcess, .inProcess, .process]) { cluster in
                var ids: [String] = []
                for member in cluster.members { ids.append(try await cluster.ownID(member)) }
                try await cluster.waitUntilAll(cluster.members, see: Set(ids), "three replicas")

                let silent = try cluster.members[2].process
                silent.signal(SIGSTOP)
                try await cluster.waitUntilAll(Array(cluster.members[0..<2]), see: Set(ids[0..<2]), "stopped replica dropped", timeout: .seconds(15))
                silent.signal(SIGCONT)
                try await cluster.waitUntilAll(cluster.members, see: Set(ids), "continued replica back", timeout: .seconds(15))
            }
        }

        @Test func unreachableRelayIsReportedAndClearedWhenReachable() async throws {
            try await ReplicaTests.withCluster([.inProcess]) { cluster in
                let relayPort = try freePort()
                // A peer whose relay address nobody listens on (yet): a process, that it keeps running is checked.
                let peer = try await cluster.start(.process, relayPort: relayPort)
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
                #expect(try peer.process.isRunning)

                // Something now answers at that address (a replica of its own there): the error clears.
                try await cluster.start(port: relayPort, extra: ["--log-level", "warning"])
                try await eventually("relay error cleared", timeout: .seconds(20)) {
                    let me = try await cluster.replicas(at: first).first { $0["id"] as? String == firstID }
                    return (me?["error"] as? String) == ""
                }
            }
        }

        @Test func replicasSurviveADatabaseRestart() async throws {
            let dataDir = "/tmp/coord-restart-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: dataDir) }
            let database = try EmbeddedPostgres(dataDirectory: dataDir)
            try database.start()
            defer { try? database.stop() }
            // Processes: that each keeps running through the outage is checked.
            try await ReplicaCluster.with(databaseURL: database.connectionString) { cluster in
                for _ in 0..<3 { try await cluster.start(.process) }
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

                for member in cluster.members { #expect(try member.process.isRunning, "replica exited:\n\(cluster.logs())") }
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
                try cluster.members[2].process.signal(SIGTERM)
                try await cluster.waitUntilAll(Array(cluster.members[0..<2]), see: Set(ids[0..<2]), "stop seen after restart", timeout: .seconds(10))
            }
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
    }
}

import Foundation
import Postgres
import ProvisionerDaemon
import TestSupport
import Testing

/// PostgreSQL itself fails over: a streaming standby (pg_basebackup -R) is promoted and the
/// primary stopped, under replicas connected with a multi-host URL and a daemon running a job.
@Suite(.serialized) struct DatabaseFailoverTests {
    static let psk = "test-psk-\(UUID().uuidString.prefix(8))"

    func multiHostURL(_ nodes: ThrowawayPostgres...) -> String {
        "postgres://postgres@" + nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/postgres?target_session_attrs=read-write"
    }

    func postImport(_ cluster: ReplicaCluster, through member: ReplicaCluster.Member, organizationID: String, manifest: [String: Any]) async throws -> String {
        let archive = TarArchive.make(name: "manifest.json", contents: Array(try JSONSerialization.data(withJSONObject: manifest)))
        let upload = try await HTTP.raw(.POST, "\(member.base)/api/v2/files", body: archive, contentType: "application/x-tar", token: cluster.token)
        #expect(upload.status == 201)
        let fileID = try #require(try upload.json["hash"] as? String, "\(upload.status)")
        let version = try await HTTP.request(.POST, "\(member.base)/api/v2/organizations/\(organizationID)/templateversions", json: [
            "storage_method": "file", "file_id": fileID, "provisioner": "echo",
        ], token: cluster.token)
        #expect(version.status == 201, "\(String(decoding: version.body, as: UTF8.self))")
        return try #require(try version.json["id"] as? String)
    }

    func jobStatus(_ cluster: ReplicaCluster, _ versionID: String, at member: ReplicaCluster.Member) async throws -> String? {
        let version = try await HTTP.request(.GET, "\(member.base)/api/v2/templateversions/\(versionID)", token: cluster.token, timeout: .seconds(5))
        guard version.status == 200 else { return nil }
        return try (version.json["job"] as? [String: Any])?["status"] as? String
    }

    @Test func aPromotedStandbyTakesOverWithAJobInFlight() async throws {
        let primary = try await ThrowawayPostgres()
        try await primary.start()
        let standby = try await ThrowawayPostgres(standbyOf: primary)
        try await standby.start()
        try await withPool(.init(connectionString: primary.url(), maximumConnections: 1)) { pool in
            try await eventually("the standby streaming", timeout: .seconds(60)) {
                try await pool.query("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").first?.decode(0, as: Int.self) == 1
            }
        }

        try await ReplicaCluster.with(databaseURL: multiHostURL(primary, standby)) { cluster in
            // Processes: failover is the point, and what they print, that they keep running and how
            // they exit are checked. A logs JSON: what the server says as its connections are cut must
            // keep that format.
            try await cluster.start(.process, extra: ["--provisioner-daemon-psk", Self.psk, "--log-format", "json"])
            try await cluster.start(.process, extra: ["--provisioner-daemon-psk", Self.psk])
            let (a, b) = (cluster.members[0], cluster.members[1])
            try await cluster.createOwner()
            let me = try await HTTP.request(.GET, "\(a.base)/api/v2/users/me", token: cluster.token)
            #expect(me.status == 200)
            let organizationID = try #require(try (me.json["organization_ids"] as? [String])?.first)
            let ids: Set<String> = [try await cluster.ownID(a), try await cluster.ownID(b)]
            try await cluster.waitUntilAll(cluster.members, see: ids, "both replicas")

            // The daemon talks to A only; jobs are posted through B, so they reach it through NOTIFY.
            let daemon = try CoordinatorProcess([
                "provisionerd", "start", "--psk", Self.psk, "--name", "d-pg-failover", "--provisioner", "echo", "--url", a.base,
            ])
            defer { daemon.signal(SIGKILL) }
            // A build-like import that takes a while: the daemon logs and sleeps between updates.
            let inFlight = try await postImport(cluster, through: b, organizationID: organizationID, manifest: [
                "resources": [], "logs": ["one", "two", "three"], "plan_ms": 2500, "apply_ms": 2500,
            ])
            try await withPool(.init(connectionString: primary.url(), maximumConnections: 1)) { pool in
                try await eventually("the daemon reported on its job", timeout: .seconds(30)) {
                    try await pool.query("SELECT count(*) FROM provisioner_job_logs").first?.decode(0, as: Int.self) ?? 0 > 0
                }
            }
            #expect(try await jobStatus(cluster, inFlight, at: b) == "running")

            // Fail over: promote the standby, then stop the old primary at once.
            try await standby.promote()
            try await primary.stop()

            for member in cluster.members {
                try await eventually("/healthz 200 on :\(member.port)", timeout: .seconds(30)) {
                    try await HTTP.request(.GET, "\(member.base)/healthz", timeout: .seconds(5)).status == 200
                }
                // A write with the session made before the failover.
                try await eventually("a write on :\(member.port)", timeout: .seconds(30)) {
                    try await HTTP.request(.POST, "\(member.base)/api/v2/users/me/keys", json: [:], token: cluster.token, timeout: .seconds(5)).status == 201
                }
            }
            do {
                try await eventually("the job in flight succeeded", timeout: .seconds(60)) {
                    try await jobStatus(cluster, inFlight, at: b) == "succeeded"
                }
            } catch {
                Issue.record("\(error): \(cluster.logs())\n---- daemon\n\(daemon.log.suffix(3000))")
                throw error
            }
            // Each replica re-took its liveness lock on the new primary and heartbeats there.
            try await cluster.waitUntilAll(cluster.members, see: ids, "both replicas re-registered")
            // Pubsub on the new primary: a job posted on B reaches A's daemon.
            let after = try await postImport(cluster, through: b, organizationID: organizationID, manifest: ["resources": []])
            try await eventually("a job posted after the failover succeeded", timeout: .seconds(30)) {
                try await jobStatus(cluster, after, at: a) == "succeeded"
            }
            try await withPool(.init(connectionString: standby.url(), maximumConnections: 1)) { pool in
                #expect(try await pool.query("SELECT pg_is_in_recovery()").first?.decode(0, as: Bool.self) == false)
                // Both replicas LISTEN on the new primary; the in-flight job completed without an error.
                #expect(try await pool.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'").first?.decode(0, as: Int.self) == 2)
                let row = try #require(try await pool.query("SELECT completed_at IS NOT NULL, error FROM provisioner_jobs WHERE id = (SELECT job_id FROM template_versions WHERE id = $1::uuid)", [inFlight]).first)
                #expect(try row.decode(0, as: Bool.self))
                #expect(try row.decode(1, as: String?.self) == nil)
            }
            for member in cluster.members { #expect(try member.process.isRunning, "\(cluster.logs())") }
            #expect(daemon.isRunning, "\(daemon.log.suffix(3000))")
            // libpq's default notice processor wrote the server's WARNING as raw lines on stderr.
            for line in try a.process.log.split(separator: "\n") where !line.isEmpty {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not one JSON object: \(line.prefix(200))")
            }
            for member in cluster.members { try member.process.signal(SIGTERM) }
            for member in cluster.members { #expect(try await member.process.waitForExit() == 0, "\(cluster.logs())") }
        }
    }
}

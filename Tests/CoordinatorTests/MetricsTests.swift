import Foundation
import TestSupport
import Testing

/// `/metrics` on its own listener of a replica with a daemon (both in this process): what a job, a
/// WebSocket and requests leave in it, label values that stay route patterns, and promtool's verdict.
@Suite struct MetricsTests {
    /// The value of one series (`name` or `name{labels}` exactly as exported), if present.
    static func sample(_ body: String, _ series: String) -> Double? {
        for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1).split(separator: " ").first ?? "")
        }
        return nil
    }

    static func sum(_ body: String, prefix: String) -> Double {
        body.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }

    @Test func aReplicaExportsWhatItDidAndPromtoolAcceptsIt() async throws {
        let provisioning = ProvisionerTests()
        let metricsPort = try freePort()
        try await provisioning.withSetUp(replicas: 1, extra: ["--prometheus-enable", "--prometheus-address", "127.0.0.1:\(metricsPort)"]) { setup in
            let a = setup.cluster.members[0]
            let metricsURL = "http://127.0.0.1:\(metricsPort)/metrics"
            try await provisioning.withDaemon([a], name: "d-metrics") { daemon in
                let versionID = try await provisioning.postImport(setup, through: a, manifest: ["resources": [["name": "dev", "type": "vm", "daily_cost": 1]]])
                do {
                    try await eventually("job succeeded", timeout: .seconds(30)) {
                        try await provisioning.job(setup, versionID, at: a)["status"] as? String == "succeeded"
                    }
                } catch {
                    Issue.record("daemon: \(daemon.log.suffix(2000))\nreplica: \(a.log.suffix(2000))")
                    throw error
                }

                var body = ""
                try await eventually("the job, the daemon back to idle and a pubsub round trip in the metrics", timeout: .seconds(30)) {
                    let scraped = try await HTTP.request(.GET, metricsURL)
                    guard scraped.status == 200 else { return false }
                    body = String(decoding: scraped.body, as: UTF8.self)
                    return Self.sample(body, #"coordinator_provisioner_daemons{status="idle"}"#) == 1
                        && (Self.sample(body, "coordinator_pubsub_round_trip_seconds_count") ?? 0) > 0
                        && (Self.sample(body, "coordinator_database_latency_seconds_count") ?? 0) > 0
                }
                #expect(Self.sample(body, "coordinator_replicas_live") == 1)
                #expect(Self.sample(body, "coordinator_deployment_metrics_reporter") == 1)
                #expect(Self.sample(body, "coordinator_pubsub_connected") == 1)
                #expect(Self.sample(body, #"coordinator_provisioner_daemons{status="busy"}"#) == 0)
                #expect(Self.sample(body, #"coordinator_provisioner_job_queue_wait_seconds_count{type="template_version_import"}"#) == 1)
                #expect(Self.sample(body, "coordinator_provisioner_job_dispatch_seconds_count") == 1)
                #expect(Self.sample(body, #"coordinator_provisioner_jobs{type="template_version_import",status="pending"}"#) == 0)
                #expect(Self.sample(body, #"coordinator_provisioner_jobs{type="workspace_build",status="running"}"#) == 0)
                #expect((Self.sample(body, "coordinator_database_pool_wait_seconds_count") ?? 0) > 0)
                #expect(Self.sum(body, prefix: #"coordinator_websocket_messages_total{direction="in""#) > 0)
                #expect((Self.sample(body, #"coordinator_websocket_bytes_total{direction="out"}"#) ?? 0) > 0)
                #expect(body.contains(#"coordinator_entitlements_messages{kind="warning"}"#))
                // Requests are counted by route pattern: the version's id, a path parameter, is no label value.
                #expect(body.contains(#"coordinator_http_request_duration_seconds_count{method="POST",route="#))
                #expect(body.contains(#"code="201""#))
                #expect(!body.contains(versionID), "a raw path reached a label")
                #expect(!body.contains(setup.organizationID), "a raw path reached a label")
                // Prometheus' own linter and parser accept the exposition.
                let check = try await ToolRun.run("promtool", ["check", "metrics"], input: body)
                #expect(check.status == 0, "promtool: \(check.output)")
                // The API listener does not serve it.
                #expect(try await HTTP.request(.GET, "\(a.base)/metrics").status == 404)
            }
        }
    }

    @Test func withoutTheFlagThereIsNoMetricsListener() async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            let metricsPort = try freePort()
            let member = try await cluster.start(extra: ["--prometheus-address", "127.0.0.1:\(metricsPort)"])
            #expect(try await HTTP.request(.GET, "\(member.base)/healthz").status == 200)
            await #expect(throws: (any Error).self) { try await HTTP.request(.GET, "http://127.0.0.1:\(metricsPort)/metrics", timeout: .seconds(2)) }
        }
    }
}

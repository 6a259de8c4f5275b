import Foundation
import NIOHTTP1
import Postgres
import ProvisionerDaemon
import ProvisionerProtocol
import TestSupport
import Testing
import WebSocket

/// Replicas and daemons on one database: jobs that cross replicas, jobs whose daemon goes away or
/// stops, the queue, and what the serve endpoint refuses. Replicas and daemons run in this process
/// (`withDaemon`: the daemon library, from `provisionerd start`'s flags) unless a test signals one
/// or reads its log (`daemonProcess`, `.process`).
@Suite struct ProvisionerTests: ProvisioningSuite {
    /// A daemon on one replica runs what is posted through another, with its logs followed
    /// through a third, and a job outlives the crash of its daemon's replica. Several replicas a
    /// test (and processes for the crash): one test at a time.
    @Suite(.serialized) struct AcrossReplicas: ProvisioningSuite {
        @Test func aDaemonOnOneReplicaRunsAJobPostedThroughAnother() async throws {
            try await withSetUp(replicas: 2) { setup in
                let (a, b) = (setup.cluster.members[0], setup.cluster.members[1])
                // No license is installed: external provisioner daemons are not entitled, and they are
                // never gated (as in Coder, they are part of the open core).
                let entitlements = try await HTTP.request(.GET, "\(a.base)/api/v2/entitlements")
                #expect(entitlements.status == 200)
                #expect(try entitlements.json["has_license"] as? Bool == false)
                #expect(try (entitlements.json["features"] as? [String: [String: Any]])?["external_provisioner_daemons"]?["entitlement"] as? String == "not_entitled")
                try await withDaemon([a], name: "d-a") { _ in
                    let versionID = try await postImport(setup, through: b, manifest: ["resources": [["name": "dev", "type": "vm", "daily_cost": 3]]])
                    try await eventually("job succeeded", timeout: .seconds(30)) {
                        try await job(setup, versionID, at: b)["status"] as? String == "succeeded"
                    }
                    let daemons = try await HTTP.request(.GET, "\(b.base)/api/v2/organizations/\(setup.organizationID)/provisionerdaemons", token: setup.cluster.token)
                    #expect(daemons.status == 200)
                    let entry = try #require(try daemons.jsonArray.first { $0["name"] as? String == "d-a" })
                    #expect(entry["replica_id"] as? String == (try await setup.cluster.ownID(a)))
                    #expect(Set(entry.keys).isSuperset(of: ["id", "created_at", "updated_at", "name", "provisioners", "tags"]))
                    #expect((try await job(setup, versionID, at: a))["worker_id"] as? String == entry["id"] as? String)
                }
            }
        }

        @Test func aBuildPostedOnBRunsOnADaemonOfAWithLogsFollowedThroughC() async throws {
            try await withSetUp(replicas: 3) { setup in
                let (a, b, c) = (setup.cluster.members[0], setup.cluster.members[1], setup.cluster.members[2])
                try await withDaemon([a], name: "d-build") { _ in
                    let versionID = try await postImport(setup, through: b, manifest: [
                        "resources": [["name": "dev", "type": "docker_container", "daily_cost": 5]],
                        "logs": ["pulling image", "starting container"], "apply_ms": 1500,
                    ])
                    try await eventually("import succeeded", timeout: .seconds(30)) {
                        try await job(setup, versionID, at: b)["status"] as? String == "succeeded"
                    }
                    let template = try await HTTP.request(.POST, "\(b.base)/api/v2/organizations/\(setup.organizationID)/templates", json: [
                        "name": "docker", "template_version_id": versionID,
                    ], token: setup.cluster.token)
                    #expect(template.status == 201, "\(String(decoding: template.body, as: UTF8.self))")
                    let templateID = try #require(try template.json["id"] as? String)
                    let workspace = try await HTTP.request(.POST, "\(b.base)/api/v2/organizations/\(setup.organizationID)/members/me/workspaces", json: [
                        "name": "dev", "template_id": templateID,
                    ], token: setup.cluster.token)
                    #expect(workspace.status == 201, "\(String(decoding: workspace.body, as: UTF8.self))")
                    let workspaceID = try #require(try workspace.json["id"] as? String)
                    let buildID = try #require(try (workspace.json["latest_build"] as? [String: Any])?["id"] as? String)

                    // Follow the build's logs live through C while the daemon on A runs it.
                    var headers = HTTPHeaders()
                    headers.add(name: "Coder-Session-Token", value: setup.cluster.token)
                    let follow = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(c.port)/api/v2/workspacebuilds/\(buildID)/logs?follow=true", headers: headers)
                    let outputs = try await follow.run { inbound, _ in
                        var outputs: [String] = []
                        for try await message in inbound {
                            guard case .text(let text) = message,
                                  let line = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { continue }
                            outputs.append(line["output"] as? String ?? "")
                        }
                        return outputs
                    }
                    #expect(outputs.contains("pulling image"), "\(outputs)")
                    #expect(outputs.contains("starting container"), "\(outputs)")
                    #expect(await follow.closeStatus.code == .normalClosure)

                    let build = try await HTTP.request(.GET, "\(c.base)/api/v2/workspacebuilds/\(buildID)", token: setup.cluster.token)
                    #expect(build.status == 200)
                    #expect(try build.json["status"] as? String == "running")
                    #expect(try build.json["daily_cost"] as? Int == 5)
                    #expect(try (build.json["resources"] as? [[String: Any]])?.first?["name"] as? String == "dev")
                    let logs = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(buildID)/logs", token: setup.cluster.token)
                    #expect(logs.status == 200)
                    #expect(try logs.jsonArray.map { $0["output"] as? String ?? "" } == outputs)

                    // Stop, then delete: the workspace goes away.
                    for (transition, status) in [("stop", "stopped"), ("delete", "deleted")] {
                        let next = try await HTTP.request(.POST, "\(b.base)/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": transition], token: setup.cluster.token)
                        #expect(next.status == 201)
                        let nextID = try #require(try next.json["id"] as? String)
                        try await eventually("\(transition) done", timeout: .seconds(30)) {
                            let polled = try await HTTP.request(.GET, "\(c.base)/api/v2/workspacebuilds/\(nextID)", token: setup.cluster.token)
                            return try polled.status == 200 && polled.json["status"] as? String == status
                        }
                    }
                    #expect(try await HTTP.request(.GET, "\(b.base)/api/v2/workspaces/\(workspaceID)", token: setup.cluster.token).status == 404)
                    let badTransition = try await HTTP.request(.POST, "\(b.base)/api/v2/workspaces/\(UUID())/builds", json: ["transition": "explode"], token: setup.cluster.token)
                    #expect(badTransition.status == 404)
                }
            }
        }

        @Test func aJobSurvivesTheCrashOfItsDaemonsReplica() async throws {
            // A is a process (killed), and so is the daemon (its log read); the owner is made
            // through B, in this process.
            try await withSetUp([.inProcess, .process]) { setup in
                let (a, b) = (setup.cluster.members[1], setup.cluster.members[0])
                let daemon = try daemonProcess([a, b], name: "d-failover")
                defer { daemon.signal(SIGKILL) }
                try await eventually("daemon connected to A") {
                    let list = try await HTTP.request(.GET, "\(b.base)/api/v2/organizations/\(setup.organizationID)/provisionerdaemons", token: setup.cluster.token)
                    guard list.status == 200 else { return false }
                    return try list.jsonArray.contains { $0["name"] as? String == "d-failover" && $0["status"] as? String == "idle" }
                }
                // A build-like import that takes a while: the daemon logs and sleeps between updates.
                let versionID = try await postImport(setup, through: b, manifest: ["resources": [], "logs": ["one", "two"], "plan_ms": 2500, "apply_ms": 2500])
                // Kill A once the daemon has reported on the job (so it holds it): the resume path.
                let pool = DatabasePool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1))
                try await eventually("daemon reported on its job") {
                    try await pool.query("SELECT count(*) FROM provisioner_job_logs").first?.decode(0, as: Int.self) ?? 0 > 0
                }
                try a.process.signal(SIGKILL)
                try await eventually("job succeeded after failover", timeout: .seconds(60)) {
                    try await job(setup, versionID, at: b)["status"] as? String == "succeeded"
                }
                // Acquired once (epoch 1), completed once.
                let row = try #require(try await pool.query("SELECT lease_epoch, completed_at IS NOT NULL, error FROM provisioner_jobs").first)
                #expect(try row.decode(0, as: Int.self) == 1)
                #expect(try row.decode(1, as: Bool.self))
                #expect(try row.decode(2, as: String?.self) == nil)
                await pool.close()
                #expect(daemon.log.contains("resumed job after reconnecting"), "\(daemon.log.suffix(3000))")
            }
        }
    }

    /// A job ends without its daemon finishing it: the daemon is killed (the grace period), goes
    /// silent (the hang timeout), or the job is canceled (the daemon hears at once). The daemons
    /// are processes, killed or read: one test at a time.
    @Suite(.serialized) struct JobsThatEndEarly: ProvisioningSuite {
        @Test func aJobWhoseDaemonDiesFailsAfterTheGracePeriodAndTheNextJobRuns() async throws {
            try await withSetUp(replicas: 1, extra: ["--job-orphan-grace", "2s"]) { setup in
                let a = setup.cluster.members[0]
                let doomed = try daemonProcess([a], name: "d-doomed")
                let versionID = try await postImport(setup, through: a, manifest: ["resources": [], "plan_ms": 60000])
                try await eventually("job running") { try await job(setup, versionID, at: a)["status"] as? String == "running" }
                doomed.signal(SIGKILL)
                try await eventually("orphaned job failed", timeout: .seconds(30)) {
                    try await job(setup, versionID, at: a)["status"] as? String == "failed"
                }
                let error = try await job(setup, versionID, at: a)["error"] as? String ?? ""
                #expect(error.contains("disconnected and did not come back within 2 seconds"), "\(error)")

                try await withDaemon([a], name: "d-fresh") { _ in
                    let next = try await postImport(setup, through: a, manifest: ["resources": []])
                    try await eventually("next job succeeded", timeout: .seconds(30)) {
                        try await job(setup, next, at: a)["status"] as? String == "succeeded"
                    }
                }
            }
        }

        @Test func aJobSilentPastTheHangTimeoutFailsAndItsDaemonIsToldToStop() async throws {
            try await withSetUp(replicas: 1, extra: ["--job-hang-timeout", "2s"]) { setup in
                let a = setup.cluster.members[0]
                let daemon = try daemonProcess([a], name: "d-silent")
                defer { daemon.signal(SIGKILL) }
                // Connected throughout, but silent for ten minutes: only the hang bound can end it.
                let versionID = try await postImport(setup, through: a, manifest: ["resources": [], "plan_ms": 600_000])
                try await eventually("job running") { try await job(setup, versionID, at: a)["status"] as? String == "running" }
                try await eventually("silent job failed", timeout: .seconds(30)) {
                    try await job(setup, versionID, at: a)["status"] as? String == "failed"
                }
                let failed = try await job(setup, versionID, at: a)
                let error = failed["error"] as? String ?? ""
                #expect(error.contains("sent no update for 2 seconds; it is presumed hung"), "\(error)")
                #expect(failed["error_code"] as? String == "LOST_DAEMON")

                // The reason is in the job's logs, for whoever follows them.
                let jobID = try #require((failed["id"] as? String).flatMap(UUID.init(uuidString:)))
                let pool = DatabasePool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1))
                let logged = try await pool.query(
                    "SELECT level, output FROM provisioner_job_logs WHERE job_id = $1 ORDER BY id DESC LIMIT 1", [jobID]
                )
                await pool.close()
                #expect(try logged.first?.decode(0, as: String.self) == "error")
                #expect(try logged.first?.decode(1, as: String.self) == error)

                // The daemon dropped the job at once instead of working on it for ten minutes.
                try await eventually("daemon told to stop") { daemon.log.contains("job canceled by the coordinator") }
                let next = try await postImport(setup, through: a, manifest: ["resources": []])
                try await eventually("next job succeeded on the same daemon", timeout: .seconds(30)) {
                    try await job(setup, next, at: a)["status"] as? String == "succeeded"
                }
            }
        }

        @Test func cancelingARunningJobReachesItsDaemonAtOnce() async throws {
            try await withSetUp(replicas: 2) { setup in
                let (a, b) = (setup.cluster.members[0], setup.cluster.members[1])
                let daemon = try daemonProcess([a], name: "d-cancel")
                defer { daemon.signal(SIGKILL) }
                // Would run for ten minutes unless told to stop.
                let versionID = try await postImport(setup, through: b, manifest: ["resources": [], "plan_ms": 600_000])
                try await eventually("job running") { try await job(setup, versionID, at: b)["status"] as? String == "running" }
                let cancel = try await HTTP.request(.PATCH, "\(b.base)/api/v2/templateversions/\(versionID)/cancel", token: setup.cluster.token)
                #expect(cancel.status == 200)
                try await eventually("job canceled", timeout: .seconds(30)) {
                    try await job(setup, versionID, at: b)["status"] as? String == "canceled"
                }
                #expect(daemon.log.contains("job canceled by the coordinator"))
                let again = try await HTTP.request(.PATCH, "\(b.base)/api/v2/templateversions/\(versionID)/cancel", token: setup.cluster.token)
                #expect(again.status == 400)
            }
        }
    }

    /// `coordinator provisionerd` told to stop (`DaemonShutdown`): with a job it finishes it first,
    /// idle it takes nothing more; either way it exits with status 0. Processes, signalled: one
    /// test at a time.
    @Suite(.serialized) struct StoppedDaemons: ProvisioningSuite {
        @Test func aDaemonStoppedWithSIGTERMInterruptsItsJobReportsItThenExits() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let daemon = try daemonProcess([a], name: "d-term")
                let versionID = try await postImport(setup, through: a, manifest: ["resources": [], "plan_ms": 600_000])
                try await eventually("job running") { try await job(setup, versionID, at: a)["status"] as? String == "running" }
                daemon.signal(SIGTERM)
                // A job waiting while the daemon stops: it must not take it on its way out.
                let next = try await postImport(setup, through: a, manifest: ["resources": []])
                #expect(try await daemon.waitForExit(timeout: .seconds(60)) == 0, "\(daemon.log.suffix(2000))")
                let interrupted = try await job(setup, versionID, at: a)
                #expect(interrupted["status"] as? String == "failed", "a ten-minute job is not waited for")
                #expect((interrupted["error"] as? String ?? "").contains("provisioner daemon was stopped"), "\(interrupted["error"] ?? "")")
                // It is gone, so nobody else could have taken it since.
                #expect(try await job(setup, next, at: a)["status"] as? String == "pending")
            }
        }

        /// Connected and idle (an acquire waiting on the coordinator), SIGINT as SIGTERM: the acquire
        /// is withdrawn, no job is taken on the way out, and the daemon exits with status 0.
        @Test func anIdleDaemonStoppedWithSIGINTExitsAndTakesNothing() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let daemon = try daemonProcess([a], name: "d-int")
                try await eventually("daemon idle") {
                    let list = try await HTTP.request(.GET, "\(a.base)/api/v2/organizations/\(setup.organizationID)/provisionerdaemons", token: setup.cluster.token)
                    guard list.status == 200 else { return false }
                    return try list.jsonArray.contains { $0["name"] as? String == "d-int" && $0["status"] as? String == "idle" }
                }
                daemon.signal(SIGINT)
                #expect(try await daemon.waitForExit(timeout: .seconds(30)) == 0, "\(daemon.log.suffix(2000))")
                #expect(!daemon.log.contains("running job"))
            }
        }
    }

    /// The queue: a job no daemon matches waits and says why, and a job handed to a daemon that
    /// never reported on it is handed out again.
    @Suite struct Queue: ProvisioningSuite {
        @Test func aJobNoDaemonCanTakeStaysPendingAndSaysWhy() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                try await withDaemon([a], name: "d-untagged") { _ in
                    try await eventually("daemon connected") {
                        let list = try await HTTP.request(.GET, "\(a.base)/api/v2/organizations/\(setup.organizationID)/provisionerdaemons", token: setup.cluster.token)
                        guard list.status == 200 else { return false }
                        return try list.jsonArray.contains { $0["status"] as? String == "idle" }
                    }
                    let versionID = try await postImport(setup, through: a, manifest: ["resources": []], tags: ["region": "mars"])
                    // The queue is served oldest first: once a later job the daemon can run has succeeded,
                    // the daemon has had its chance at the older one, and passed it by.
                    let later = try await postImport(setup, through: a, manifest: ["resources": []])
                    try await eventually("the later job succeeded", timeout: .seconds(30)) {
                        try await job(setup, later, at: a)["status"] as? String == "succeeded"
                    }
                    let state = try await job(setup, versionID, at: a)
                    #expect(state["status"] as? String == "pending")
                    let matched = try #require(state["matched_provisioners"] as? [String: Any])
                    #expect(matched["count"] as? Int == 0)
                    #expect(matched["available"] as? Int == 0)
                }
            }
        }

        @Test func aJobThatNeverReachedItsDaemonGoesBackToTheQueue() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                var headers = HTTPHeaders()
                headers.add(name: "Coder-Provisioner-Daemon-PSK", value: Self.psk)
                let url = "ws://127.0.0.1:\(a.port)/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo&name=forgetful&instance_id=one-process"
                let versionID = try await postImport(setup, through: a, manifest: ["resources": []])
                /// Connects as the daemon, acquires, and returns the job's lease without reporting on it.
                func takeJob() async throws -> Lease {
                    let connection = try await WebSocketClient.connect(to: url, headers: headers)
                    return try await connection.run { inbound, outbound in
                        var iterator = inbound.makeAsyncIterator()
                        try await outbound.send(text: ProvisionerCoding.encode(DaemonMessage.hello(Hello(daemonVersion: "test"))))
                        _ = try await iterator.next()
                        try await outbound.send(text: ProvisionerCoding.encode(DaemonMessage.acquire(id: 1)))
                        guard case .text(let text)? = try await iterator.next(),
                              case .job(_, let job) = try ProvisionerCoding.decodeCoordinatorMessage(text) else { throw TestSetupError("no job") }
                        return job.lease
                    }
                }
                let first = try await takeJob()
                #expect(try await job(setup, versionID, at: a)["status"] as? String == "running")
                // The same daemon comes back without resuming and asks for work: it gets the job again,
                // under a new epoch, instead of the job waiting out the hang bound.
                let second = try await takeJob()
                #expect(second.jobID == first.jobID)
                #expect(second.epoch == first.epoch + 1)
            }
        }
    }

    /// What the serve endpoint refuses: bad credentials and parameters before the upgrade, stale
    /// leases, and garbage or oversized messages, which close only their own connection.
    @Suite struct ServeEndpoint: ProvisioningSuite {
        @Test func badCredentialsAndParametersAreRefusedBeforeTheUpgrade() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let path = "/api/v2/organizations/\(setup.organizationID)/provisionerdaemons/serve"
                let cases: [(String, [(String, String)], Int, String)] = [
                    ("?provisioner=echo", [("Coder-Provisioner-Daemon-PSK", "wrong")], 401, "provisioner daemon auth token invalid"),
                    ("?provisioner=echo", [], 401, "provisioner daemon auth token required"),
                    ("?provisioner=echo", [("Coder-Session-Token", "abcdefghij-abcdefghijklmnopqrstuv")], 401, "You are signed out or your session has expired. Please sign in again to continue."),
                    ("", [("Coder-Provisioner-Daemon-PSK", Self.psk)], 400, "The provisioner query parameter must be specified."),
                    ("?provisioner=chef", [("Coder-Provisioner-Daemon-PSK", Self.psk)], 400, "Unknown provisioner type \"chef\""),
                    ("?provisioner=echo&tag=novalue", [("Coder-Provisioner-Daemon-PSK", Self.psk)], 400, "Invalid format for tag \"novalue\". Key and value must be separated with =."),
                ]
                for (query, headers, status, message) in cases {
                    let response = try await RawHTTP.upgrade(port: a.port, path: path + query, headers: headers)
                    #expect(response.status == status, "\(query) \(headers): \(response.body)")
                    #expect(try response.message == message, "\(query) \(headers)")
                    #expect(response.headers["connection"]?.lowercased() == "close")
                }
                let badOrganization = try await RawHTTP.upgrade(port: a.port, path: "/api/v2/organizations/\(UUID())/provisionerdaemons/serve?provisioner=echo", headers: [("Coder-Provisioner-Daemon-PSK", Self.psk)])
                #expect(badOrganization.status == 404)
                // A member may not register an organization daemon.
                _ = try await HTTP.request(.POST, "\(a.base)/api/v2/users", json: [
                    "email": "m@example.com", "username": "member", "password": "M3mber-Passw0rd!", "organization_id": setup.organizationID,
                ], token: setup.cluster.token)
                let login = try await HTTP.request(.POST, "\(a.base)/api/v2/users/login", json: ["email": "m@example.com", "password": "M3mber-Passw0rd!"])
                #expect(login.status == 201)
                let memberToken = try #require(try login.json["session_token"] as? String)
                let forbidden = try await RawHTTP.upgrade(port: a.port, path: path + "?provisioner=echo", headers: [("Coder-Session-Token", memberToken)])
                #expect(forbidden.status == 403)
                #expect(try forbidden.message == "You aren't allowed to create provisioner daemons for the organization.")
                // …but a user-scoped one is theirs to run.
                var headers = HTTPHeaders()
                headers.add(name: "Coder-Session-Token", value: memberToken)
                let userScoped = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(a.port)\(path)?provisioner=echo&tag=scope=user", headers: headers)
                try await userScoped.run { _, outbound in try await outbound.close(code: .normalClosure) }
            }
        }

        @Test func staleLeasesAreRefused() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                var headers = HTTPHeaders()
                headers.add(name: "Coder-Provisioner-Daemon-PSK", value: Self.psk)
                let connection = try await WebSocketClient.connect(
                    to: "ws://127.0.0.1:\(a.port)/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo&name=fencer", headers: headers
                )
                let replies = try await connection.run { inbound, outbound in
                    var replies: [CoordinatorMessage] = []
                    var iterator = inbound.makeAsyncIterator()
                    func next() async throws -> CoordinatorMessage {
                        guard case .text(let text)? = try await iterator.next() else { throw TestSetupError("connection ended") }
                        return try ProvisionerCoding.decodeCoordinatorMessage(text)
                    }
                    try await outbound.send(text: ProvisionerCoding.encode(DaemonMessage.hello(Hello(daemonVersion: "test"))))
                    guard case .welcome(let welcome) = try await next() else { throw TestSetupError("no welcome") }
                    let forged = Lease(jobID: UUID(), daemonID: welcome.daemonID, epoch: 1)
                    try await outbound.send(text: ProvisionerCoding.encode(DaemonMessage.resume(id: 1, lease: forged)))
                    replies.append(try await next())
                    try await outbound.send(text: ProvisionerCoding.encode(DaemonMessage.update(id: 2, lease: forged, logs: [LogLine(output: "x")])))
                    replies.append(try await next())
                    try await outbound.send(text: ProvisionerCoding.encode(DaemonMessage.complete(id: 3, lease: forged, result: JobResult(resources: []))))
                    replies.append(try await next())
                    return replies
                }
                for (index, reply) in replies.enumerated() {
                    guard case .error(let id, let code, _) = reply else { Issue.record("reply \(index) is \(reply)"); continue }
                    #expect(id == Int64(index + 1))
                    #expect(code == .staleLease)
                }
            }
        }

        @Test func garbageAndOversizedMessagesCloseOnlyThatConnection() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let url = "ws://127.0.0.1:\(a.port)/api/v2/organizations/\(setup.organizationID)/provisionerdaemons/serve?provisioner=echo&name=raw&instance_id=one-process"
                var headers = HTTPHeaders()
                headers.add(name: "Coder-Provisioner-Daemon-PSK", value: Self.psk)

                let garbage = try await WebSocketClient.connect(to: url, headers: headers)
                _ = try? await garbage.run { inbound, outbound in
                    try await outbound.send(text: "this is not json")
                    for try await _ in inbound {}
                }
                #expect(await garbage.closeStatus.code == .policyViolation)

                let noHello = try await WebSocketClient.connect(to: url, headers: headers)
                _ = try? await noHello.run { inbound, outbound in
                    try await outbound.send(text: ProvisionerCoding.encode(DaemonMessage.acquire(id: 1)))
                    for try await _ in inbound {}
                }
                #expect(await noHello.closeStatus.code == .policyViolation)

                let oversized = try await WebSocketClient.connect(to: url, headers: headers, configuration: .init(maxMessageSize: 2 * ProvisionerLimits.maxMessageBytes))
                _ = try? await oversized.run { inbound, outbound in
                    try await outbound.send(text: String(repeating: "x", count: ProvisionerLimits.maxMessageBytes + 1))
                    for try await _ in inbound {}
                }
                #expect(await oversized.closeStatus.code == .messageTooBig)

                // The replica is unaffected: a well-behaved daemon still runs a job.
                try await withDaemon([a], name: "d-after") { _ in
                    let versionID = try await postImport(setup, through: a, manifest: ["resources": []])
                    try await eventually("job succeeded", timeout: .seconds(30)) {
                        try await job(setup, versionID, at: a)["status"] as? String == "succeeded"
                    }
                }
            }
        }
    }
}

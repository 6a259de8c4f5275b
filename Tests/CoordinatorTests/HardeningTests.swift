import Foundation
import NIOHTTP1
import Postgres
import ProvisionerDaemon
import ProvisionerProtocol
import TestSupport
import Testing
import WebSocket

/// What a hostile daemon (`HostileDaemon`: one that speaks the documented protocol and sends
/// whatever a test tells it to) cannot do to replicas: take over another's identity or lease,
/// crash a replica with its numbers, wedge the queue, lose a build's state, run two builds of a
/// workspace at once, hold connections it should not, or cause unbounded work. The replicas run in
/// this process, except where one is stopped or must be seen to survive.
@Suite struct Hardening {
    /// A member's token cannot take over an organization daemon's name or job; a reconnect of
    /// the same process replaces its connection while another process under the name is refused
    /// (on either replica); a process that slips in while the first reconnects cannot end its job.
    /// Two replicas in one test: one test at a time.
    @Suite(.serialized) struct Identity: ProvisioningSuite {
        @Test func aMemberCannotTakeOverAnOrganizationDaemonsNameOrItsJob() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let (owner, welcome) = try await hostile(a, name: "org-daemon")
                _ = try await postImport(setup, through: a, manifest: ["resources": []])
                let job = try await acquire(owner)
                let token = try await memberToken(setup)

                // The attack of the review: the organization daemon's name, scope=user, the member's token.
                // Names are keyed by owner: the member gets a daemon of their own under that
                // name, never the organization's row, its id or its connection.
                let (namesake, namesakeWelcome) = try await hostile(a, name: "org-daemon", instanceID: "evil", tags: ["scope=user"], token: token)
                #expect(namesakeWelcome.daemonID != welcome.daemonID)
                try await namesake.send(.resume(id: 1, lease: job.lease))
                guard case .error(_, .staleLease, _) = try await namesake.reply(to: 1) else { Issue.record("resume of another owner's job was answered"); return }
                await namesake.close()

                // Under a name of their own, the member can neither resume nor touch the daemon's job.
                let (thief, thiefWelcome) = try await hostile(a, name: "thief", tags: ["scope=user"], token: token)
                #expect(thiefWelcome.daemonID != welcome.daemonID)
                try await thief.send(.resume(id: 1, lease: job.lease))
                guard case .error(_, .staleLease, _) = try await thief.reply(to: 1) else { Issue.record("resume of another daemon's job was answered"); return }
                try await thief.send(.complete(id: 2, lease: job.lease, result: JobResult(resources: [], state: "Zm9yZ2Vk")))
                guard case .error(_, .staleLease, _) = try await thief.reply(to: 2) else { Issue.record("complete of another daemon's job was accepted"); return }
                await thief.close()

                // The real daemon still holds its job and finishes it.
                try await owner.send(.update(id: 2, lease: job.lease, logs: [LogLine(output: "still mine")]))
                guard case .updated = try await owner.reply(to: 2) else { Issue.record("the owner lost its job"); return }
                try await owner.send(.complete(id: 3, lease: job.lease, result: JobResult(resources: [])))
                guard case .done = try await owner.reply(to: 3) else { Issue.record("the owner could not complete"); return }
                await owner.close()
            }
        }

        @Test func aReconnectOfTheSameProcessReplacesItsConnectionAtOnceAndATwinIsRefused() async throws {
            try await withSetUp(replicas: 2) { setup in
                let (a, b) = (setup.cluster.members[0], setup.cluster.members[1])
                let (first, welcome) = try await hostile(a, name: "twin", instanceID: "process-1")
                _ = try await postImport(setup, through: a, manifest: ["resources": []])
                let job = try await acquire(first)
                try await first.send(.update(id: 2, lease: job.lease, logs: []))
                _ = try await first.reply(to: 2)

                // Another process under the same name, on either replica: refused, the first untouched.
                for member in [a, b] {
                    let twin = try await RawHTTP.upgrade(port: member.port, path: HostileDaemon.url(port: member.port, .init(name: "twin", instanceID: "process-2")).replacingOccurrences(of: "ws://127.0.0.1:\(member.port)", with: ""), headers: [("Coder-Provisioner-Daemon-PSK", Self.psk)])
                    #expect(twin.status == 409, "\(twin.body)")
                    #expect(try twin.message?.contains("already connected from another process") == true)
                    #expect(try (twin.json["detail"] as? String)?.isEmpty == false)
                    #expect(twin.body.contains("--name"))
                }
                try await first.send(.update(id: 3, lease: job.lease, logs: []))
                guard case .updated = try await first.reply(to: 3) else { Issue.record("the twin disturbed the first daemon"); return }

                // The same process reconnecting through B (the connection to A still open, as if half-open):
                // accepted at once, A's connection is closed, and the job resumes on B.
                let (again, welcomeAgain) = try await hostile(b, name: "twin", instanceID: "process-1")
                #expect(welcomeAgain.daemonID == welcome.daemonID)
                let closed = await first.closed()
                #expect(closed.code == .policyViolation, "\(closed)")
                try await again.send(.resume(id: 1, lease: job.lease))
                guard case .job = try await again.reply(to: 1) else { Issue.record("resume after reconnect failed"); return }
                try await again.send(.complete(id: 2, lease: job.lease, result: JobResult(resources: [])))
                guard case .done = try await again.reply(to: 2) else { Issue.record("complete after reconnect failed"); return }
                await again.close()
            }
        }

        @Test func aSecondProcessThatSlipsInWhileTheFirstReconnectsCannotEndItsJob() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let (first, _) = try await hostile(a, name: "shared-name", instanceID: "first")
                _ = try await postImport(setup, through: a, manifest: ["resources": []])
                let job = try await acquire(first)
                try await first.send(.update(id: 2, lease: job.lease, logs: [LogLine(output: "working")]))
                _ = try await first.reply(to: 2)
                // The first one's connection ends cleanly (its replica restarting, say)…
                await first.close()
                let pool = database(setup)
                try await eventually("the first one is disconnected") {
                    try await pool.query("SELECT connected FROM provisioner_daemons WHERE name = 'shared-name'").first?.decode(0, as: Bool.self) == false
                }
                // …and a second process under the same name gets in and asks for work.
                let (second, _) = try await hostile(a, name: "shared-name", instanceID: "second")
                try await second.send(.acquire(id: 1))
                try await second.send(.cancelAcquire(id: 1))
                guard case .acquireCanceled = try await second.reply(to: 1) else { Issue.record("no answer to the second's acquire"); return }
                // The first one's job was not touched: still running, its grace period running.
                let row = try await pool.query("SELECT completed_at IS NULL FROM provisioner_jobs WHERE id = $1", [job.lease.jobID]).first
                #expect(try row?.decode(0, as: Bool.self) == true, "the second process ended the first one's job")
                await second.close()
                try await eventually("the second one is disconnected") {
                    try await pool.query("SELECT connected FROM provisioner_daemons WHERE name = 'shared-name'").first?.decode(0, as: Bool.self) == false
                }
                // The first one comes back and carries on.
                let (back, _) = try await hostile(a, name: "shared-name", instanceID: "first")
                try await back.send(.resume(id: 1, lease: job.lease))
                guard case .job = try await back.reply(to: 1) else { Issue.record("the first one could not resume"); return }
                try await back.send(.complete(id: 2, lease: job.lease, result: JobResult(resources: [])))
                guard case .done = try await back.reply(to: 2) else { Issue.record("complete failed"); return }
                await back.close()
                await pool.close()
            }
        }
    }

    /// A lease is fenced by its connection: a replica that wakes up late to a connection that
    /// was replaced cannot start the grace period of a job resumed elsewhere. The stalled replica
    /// is a process (SIGSTOP, its log read).
    @Suite struct LeaseFencing: ProvisioningSuite {
        @Test func aLateDisconnectDoesNotStartTheGracePeriodOfAJobResumedElsewhere() async throws {
            try await withSetUp([.inProcess, .process], extra: ["--job-orphan-grace", "1s", "--log-level", "info"]) { setup in
                // A is the process (stopped, its log read); the owner is made through B, in this process.
                let (a, b) = (setup.cluster.members[1], setup.cluster.members[0])
                let (onA, _) = try await hostile(a, name: "fenced", instanceID: "same")
                _ = try await postImport(setup, through: a, manifest: ["resources": []])
                let job = try await acquire(onA)
                // Replica A stalls with the connection open (half-open, as far as the daemon can tell);
                // the daemon moves to B and resumes there.
                try a.process.signal(SIGSTOP)
                let (onB, _) = try await hostile(b, name: "fenced", instanceID: "same")
                try await onB.send(.resume(id: 1, lease: job.lease))
                guard case .job = try await onB.reply(to: 1) else { try a.process.signal(SIGCONT); Issue.record("no resume"); return }
                // A wakes, learns its connection was replaced, closes it and cleans up — after the resume.
                try a.process.signal(SIGCONT)
                #expect(await onA.closed().code == .policyViolation)
                try await eventually("A's session ended") {
                    try a.process.log.contains("provisioner daemon disconnected")
                }
                let pool = database(setup)
                let row = try await pool.query("SELECT lease_lost_at IS NULL, completed_at IS NULL FROM provisioner_jobs WHERE id = $1", [job.lease.jobID]).first
                #expect(try row?.decode(0, as: Bool.self) == true, "A's late clean-up started the grace period of a job B holds")
                #expect(try row?.decode(1, as: Bool.self) == true)
                let daemonRow = try await pool.query("SELECT connected FROM provisioner_daemons WHERE name = 'fenced'").first
                #expect(try daemonRow?.decode(0, as: Bool.self) == true)
                try await onB.send(.update(id: 2, lease: job.lease, logs: [LogLine(output: "alive")]))
                guard case .updated = try await onB.reply(to: 2) else { Issue.record("lease lost after a late disconnect"); return }
                try await onB.send(.complete(id: 3, lease: job.lease, result: JobResult(resources: [])))
                guard case .done = try await onB.reply(to: 3) else { Issue.record("complete failed"); return }
                await pool.close()
                await onB.close()
            }
        }
    }

    /// Costs a daemon reports, however large or negative, are refused or summed without a
    /// crash. The replica is a process: that it still runs is what is checked.
    @Suite struct CostArithmetic: ProvisioningSuite {
        @Test func overflowingAndNegativeCostsNeverCrashAReplica() async throws {
            try await withSetUp([.process]) { setup in
                let a = setup.cluster.members[0]
                let (daemon, _) = try await hostile(a, name: "costly")
                let (_, build) = try await workspaceWithAcquiredBuild(setup, daemon)
                // The review's crash: two resources at 2³¹−1 in a build's `complete`.
                let big = Int64(Int32.max)
                try await daemon.send(.complete(id: 1, lease: build.lease, result: JobResult(resources: [
                    Resource(name: "a", type: "vm", dailyCost: big), Resource(name: "b", type: "vm", dailyCost: big),
                ], state: "c3RhdGU=")))
                guard case .done = try await daemon.reply(to: 1) else { Issue.record("complete refused"); return }
                let pool = database(setup)
                let cost = try await pool.query("SELECT daily_cost FROM workspace_builds WHERE job_id = $1", [build.lease.jobID]).first
                #expect(try cost?.decode(0, as: Int64.self) == 2 * big)
                let buildJSON = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(try #require(try await buildID(pool, job: build.lease.jobID)))", token: setup.cluster.token)
                #expect(buildJSON.status == 200)
                #expect(try buildJSON.json["daily_cost"] as? Int == Int(2 * big))

                // Out of range: refused as bad_request, the job fails with the reason, the replica lives.
                for (index, cost) in [Int64(-1), big + 1, Int64.max].enumerated() {
                    let (_, next) = try await nextBuild(setup, workspaceOf: build, daemon: daemon, id: Int64(10 + index * 10), pool: pool)
                    try await daemon.send(.complete(id: Int64(11 + index * 10), lease: next.lease, result: JobResult(resources: [Resource(name: "x", type: "vm", dailyCost: cost)])))
                    guard case .error(_, .badRequest, let message) = try await daemon.reply(to: Int64(11 + index * 10)) else { Issue.record("cost \(cost) accepted"); continue }
                    #expect(message.contains("daily_cost"))
                    let failed = try await pool.query("SELECT error FROM provisioner_jobs WHERE id = $1", [next.lease.jobID]).first
                    #expect(try failed?.decode(0, as: String?.self)?.contains("invalid result") == true)
                }
                // A negative quota commit is a protocol error on that connection only.
                try await daemon.sendRaw(#"{"type":"commit_quota","id":99,"lease":{"job_id":"\#(build.lease.jobID)","daemon_id":"\#(build.lease.daemonID)","epoch":1},"daily_cost":-5}"#)
                #expect(await daemon.closed().code == .policyViolation)
                #expect(try await HTTP.request(.GET, "\(a.base)/healthz").status == 200)
                #expect(try a.process.isRunning)
                await pool.close()
            }
        }
    }

    /// No job wedges the queue: one no daemon can receive, one handed over too often without an
    /// update, one whose state or message is too large, one whose text hides a NUL all fail (or
    /// are kept) with a reason, and the queue moves on.
    @Suite struct PoisonJobs: ProvisioningSuite {
        @Test func anArchiveADaemonCannotReceiveFailsInsteadOfWedgingTheQueue() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                // Over the upload limit: 413 in Coder's envelope.
                let tooBig = [UInt8](repeating: 0x61, count: ProvisionerLimits.maxArchiveBytes + 1)
                let refused = try await HTTP.raw(.POST, "\(a.base)/api/v2/files", body: tooBig, contentType: "application/x-tar", token: setup.cluster.token)
                #expect(refused.status == 413)
                #expect(try refused.json["message"] as? String == "File is too large.")

                // The largest upload reaches a current daemon: the message limit holds it.
                let manifest = try JSONSerialization.data(withJSONObject: ["resources": []])
                let padding = [UInt8](repeating: 0x7A, count: ProvisionerLimits.maxArchiveBytes - 8 * 1024)
                let archive = Array(TarArchive.make(name: "manifest.json", contents: Array(manifest)).dropLast(1024)) + TarArchive.make(name: "padding", contents: padding)
                #expect(archive.count <= ProvisionerLimits.maxArchiveBytes)
                let upload = try await HTTP.raw(.POST, "\(a.base)/api/v2/files", body: archive, contentType: "application/x-tar", token: setup.cluster.token)
                #expect(upload.status == 201)
                let fileID = try #require(try upload.json["hash"] as? String)
                func postVersion() async throws -> String {
                    let version = try await HTTP.request(.POST, "\(a.base)/api/v2/organizations/\(setup.organizationID)/templateversions", json: [
                        "storage_method": "file", "file_id": fileID, "provisioner": "echo",
                    ], token: setup.cluster.token)
                    #expect(version.status == 201)
                    return try #require(try version.json["id"] as? String)
                }
                // An older daemon (4 MiB messages) cannot take it: it closes with 1009, and the job fails
                // with a reason instead of being handed to it forever.
                let poisoned = try await postVersion()
                let (old, _) = try await hostile(a, name: "old-daemon", maxMessageSize: 4 << 20)
                try await old.send(.acquire(id: 1))
                #expect(await old.closed().code == .messageTooBig)
                try await eventually("the undeliverable job failed") {
                    try await job(setup, poisoned, at: a)["status"] as? String == "failed"
                }
                let error = try await job(setup, poisoned, at: a)["error"] as? String ?? ""
                #expect(error.contains("larger than the other side accepts"), "\(error)")

                // The queue moves on: a real daemon runs the same archive.
                try await withDaemon([a], name: "d-big") { _ in
                    let fine = try await postVersion()
                    try await eventually("the large archive ran", timeout: .seconds(60)) {
                        try await job(setup, fine, at: a)["status"] as? String == "succeeded"
                    }
                }
            }
        }

        @Test func aJobHandedOverTooOftenWithoutAnUpdateFails() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let versionID = try await postImport(setup, through: a, manifest: ["resources": []])
                // The same process takes the job and drops the connection without a word, again and
                // again (as one that cannot receive it would); each next acquire reclaims it.
                for _ in 1...ProvisionerLimits.maxDeliveriesWithoutUpdate {
                    let (daemon, _) = try await hostile(a, name: "flaky", instanceID: "one-process")
                    _ = try await acquire(daemon)
                    await daemon.close()
                }
                let (last, _) = try await hostile(a, name: "flaky", instanceID: "one-process")
                try await last.send(.acquire(id: 1))
                try await eventually("the job failed after its deliveries") {
                    try await job(setup, versionID, at: a)["status"] as? String == "failed"
                }
                #expect((try await job(setup, versionID, at: a)["error"] as? String ?? "").contains("without a single update"))
                await last.close()
            }
        }

        @Test func anOversizedStateOrMessageFailsTheJobInsteadOfLooping() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let (daemon, _) = try await hostile(a, name: "stateful")
                let (_, build) = try await workspaceWithAcquiredBuild(setup, daemon)
                // A state over the limit, in a message under it: refused, the job fails with the reason.
                let state = Data(repeating: 1, count: ProvisionerLimits.maxStateBytes + 1).base64EncodedString()
                try await daemon.send(.complete(id: 1, lease: build.lease, result: JobResult(resources: [], state: state)))
                guard case .error(_, .badRequest, let message) = try await daemon.reply(to: 1) else { Issue.record("oversized state accepted"); return }
                #expect(message.contains("state is"))
                let pool = database(setup)
                #expect(try await pool.query("SELECT error FROM provisioner_jobs WHERE id = $1", [build.lease.jobID]).first?.decode(0, as: String?.self)?.contains("state is") == true)

                // A message over the limit: closed with 1009, and the job it was for fails (resuming it
                // would only send the same message again).
                let (_, next) = try await nextBuild(setup, workspaceOf: build, daemon: daemon, id: 2, pool: pool)
                // The coordinator closes while the message is still on its way: the send may fail.
                try? await daemon.send(.fail(id: 3, lease: next.lease, error: String(repeating: "e", count: ProvisionerLimits.maxMessageBytes), state: nil))
                #expect(await daemon.closed().code == .messageTooBig)
                try await eventually("the job of the oversized message failed") {
                    try await pool.query("SELECT error FROM provisioner_jobs WHERE id = $1", [next.lease.jobID]).first?.decode(0, as: String?.self)?.contains("larger than") == true
                }
                await pool.close()
            }
        }

        /// A NUL followed by a combining mark is one `Character`, which `String.contains("\0")`
        /// misses: such text must still be kept with U+FFFD, not reach the binding layer's backstop
        /// (which would end the session, and the daemon would replay the message on every reconnect).
        @Test func aNULHiddenInACombiningSequenceIsReplacedNotAWedge() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let (daemon, _) = try await hostile(a, name: "combining")
                let (_, build) = try await workspaceWithAcquiredBuild(setup, daemon)
                let hidden = "a\u{0}\u{301}b"
                try await daemon.send(.update(id: 1, lease: build.lease, logs: [LogLine(stage: hidden, output: hidden)]))
                guard case .updated = try await daemon.reply(to: 1) else { Issue.record("update refused"); return }
                try await daemon.send(.fail(id: 2, lease: build.lease, error: hidden, state: nil))
                guard case .done = try await daemon.reply(to: 2) else { Issue.record("fail refused"); return }
                let pool = database(setup)
                let error = try await pool.query("SELECT error FROM provisioner_jobs WHERE id = $1", [build.lease.jobID]).first?.decode(0, as: String?.self)
                #expect(error?.unicodeScalars.map(\.value) == [0x61, 0xFFFD, 0x301, 0x62])
                let id = try #require(try await buildID(pool, job: build.lease.jobID))
                let response = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(id)/logs", token: setup.cluster.token)
                #expect(response.status == 200)
                let logs = try response.jsonArray
                #expect((logs.first?["output"] as? String)?.unicodeScalars.map(\.value) == [0x61, 0xFFFD, 0x301, 0x62])
                await pool.close()
                await daemon.close()
            }
        }
    }

    /// A failed build never loses a workspace's state: the next build starts from the last good one.
    @Suite struct BuildState: ProvisioningSuite {
        @Test func aFailedBuildCarriesTheLastGoodStateForward() async throws {
            try await withSetUp(replicas: 1) { setup in
                let (daemon, _) = try await hostile(setup.cluster.members[0], name: "stateful")
                let (_, start) = try await workspaceWithAcquiredBuild(setup, daemon)
                let good = Data("resources-of-start".utf8).base64EncodedString()
                try await daemon.send(.complete(id: 1, lease: start.lease, result: JobResult(resources: [Resource(name: "dev", type: "vm")], state: good)))
                _ = try await daemon.reply(to: 1)
                let pool = database(setup)
                // stop fails without a state…
                let (_, stop) = try await nextBuild(setup, workspaceOf: start, daemon: daemon, id: 2, pool: pool, transition: "stop")
                #expect(stop.state == good)
                try await daemon.send(.fail(id: 3, lease: stop.lease, error: "boom", state: nil))
                _ = try await daemon.reply(to: 3)
                // …and the delete after it still starts from the start's state, not from nothing.
                let (_, delete) = try await nextBuild(setup, workspaceOf: start, daemon: daemon, id: 4, pool: pool, transition: "delete")
                #expect(delete.state == good)
                let carried = try await pool.query("SELECT state FROM workspace_builds WHERE job_id = $1", [stop.lease.jobID]).first?.decode(0, as: PostgresBytes?.self)
                #expect(carried?.bytes == Array("resources-of-start".utf8))
                await pool.close()
                await daemon.close()
            }
        }
    }

    /// One build at a time per workspace, however many are posted at once on however many replicas.
    @Suite struct OneBuildAtATime: ProvisioningSuite {
        @Test func tenConcurrentBuildsGiveOneCreatedAndNineConflicts() async throws {
            try await withSetUp(replicas: 2) { setup in
                let (daemon, _) = try await hostile(setup.cluster.members[0], name: "builder")
                let (workspaceID, start) = try await workspaceWithAcquiredBuild(setup, daemon)
                try await daemon.send(.complete(id: 1, lease: start.lease, result: JobResult(resources: [], state: "cw==")))
                _ = try await daemon.reply(to: 1)
                let members = setup.cluster.members
                let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for index in 0..<10 {
                        group.addTask {
                            let response = try await HTTP.request(.POST, "\(members[index % 2].base)/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": "stop"], token: setup.cluster.token)
                            return try (response.status, response.json["message"] as? String ?? "")
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0.0 == 201 }.count == 1, "\(statuses)")
                #expect(statuses.filter { $0.0 == 409 }.count == 9, "\(statuses)")
                #expect(statuses.filter { $0.0 == 409 }.allSatisfy { $0.1 == "A workspace build is already active." })
                await daemon.close()
            }
        }
    }

    /// Connections are kept in bounds: an acquire flood is refused while others are served, a
    /// revoked token or a suspended user loses its sockets on every replica, and a cookie
    /// upgrade must come from the access URL. Two replicas in one test: one test at a time.
    @Suite(.serialized) struct ConnectionHygiene: ProvisioningSuite {
        @Test func anAcquireFloodIsRefusedAndOthersAreServed() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let (flooder, _) = try await hostile(a, name: "flooder")
                for id in Int64(1)...500 { try await flooder.send(.acquire(id: id)) }
                // The first waits; every other is refused on the spot.
                var refused = 0
                for _ in 2...500 {
                    if case .error(_, .badRequest, _) = try await flooder.next() { refused += 1 }
                }
                #expect(refused == 499)
                // The replica serves everybody else: the flooder's waiting acquire takes one job, a real
                // daemon the other.
                try await withDaemon([a], name: "d-calm") { _ in
                    let first = try await postImport(setup, through: a, manifest: ["resources": []])
                    let second = try await postImport(setup, through: a, manifest: ["resources": []])
                    guard case .job(1, let taken) = try await flooder.next() else { Issue.record("the waiting acquire got nothing"); return }
                    try await flooder.send(.complete(id: 600, lease: taken.lease, result: JobResult(resources: [])))
                    try await eventually("both jobs succeeded", timeout: .seconds(30)) {
                        let states = [try await job(setup, first, at: a)["status"] as? String, try await job(setup, second, at: a)["status"] as? String]
                        return states == ["succeeded", "succeeded"]
                    }
                    await flooder.close()
                }
            }
        }

        @Test func aRevokedTokenOrASuspendedUserClosesTheirWebSocketsOnEveryReplica() async throws {
            try await withSetUp(replicas: 2) { setup in
                let (a, b) = (setup.cluster.members[0], setup.cluster.members[1])
                let token = try await memberToken(setup)
                let (daemon, _) = try await hostile(a, name: "mine", tags: ["scope=user"], token: token)
                // Logged out through B: the daemon session on A is closed.
                let logout = try await HTTP.request(.POST, "\(b.base)/api/v2/users/logout", token: token)
                #expect(logout.status == 200)
                #expect(await daemon.closed().code == .policyViolation)
                let again = try await RawHTTP.upgrade(port: a.port, path: "\(ProvisionerServe.path(organization: "default"))?provisioner=echo&tag=scope=user&name=mine", headers: [("Coder-Session-Token", token)])
                #expect(again.status == 401)

                // A suspended user's sockets close too.
                let second = try await memberToken(setup, name: "second")
                let me = try await HTTP.request(.GET, "\(a.base)/api/v2/users/me", token: second)
                #expect(me.status == 200)
                let userID = try #require(try me.json["id"] as? String)
                let (other, _) = try await hostile(a, name: "theirs", tags: ["scope=user"], token: second)
                let suspend = try await HTTP.request(.PUT, "\(b.base)/api/v2/users/\(userID)/status/suspend", token: setup.cluster.token)
                #expect(suspend.status == 200)
                #expect(await other.closed().code == .policyViolation)
            }
        }

        @Test func aCookieAuthenticatedDaemonUpgradeMustComeFromTheAccessURL() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let token = try await memberToken(setup)
                let path = "\(ProvisionerServe.path(organization: "default"))?provisioner=echo&tag=scope=user&name=cookie-daemon"
                let foreign = try await RawHTTP.upgrade(port: a.port, path: path, headers: [("Cookie", "coder_session_token=\(token)"), ("Origin", "http://evil.example")])
                #expect(foreign.status == 403, "\(foreign.body)")
                // From the access URL's origin, the cookie is good.
                var headers = HTTPHeaders()
                headers.add(name: "Cookie", value: "coder_session_token=\(token)")
                headers.add(name: "Origin", value: a.base)
                let accepted = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(a.port)\(path)", headers: headers)
                try await accepted.run { _, outbound in try await outbound.close(code: .normalClosure) }
            }
        }
    }

    /// The work one job may cause is bounded: logs past the cap are dropped with one notice, and
    /// tags past the limits are refused before the upgrade.
    @Suite struct BoundedWork: ProvisioningSuite {
        @Test func logsPastTheCapAreDroppedWithOneNotice() async throws {
            try await withSetUp(replicas: 1, extra: ["--job-log-max-lines", "5"]) { setup in
                let a = setup.cluster.members[0]
                let (daemon, _) = try await hostile(a, name: "chatty")
                let (_, build) = try await workspaceWithAcquiredBuild(setup, daemon)
                for round in 0..<3 {
                    let lines = (0..<4).map { LogLine(output: "line \(round)-\($0)\u{0}") }
                    try await daemon.send(.update(id: Int64(round + 1), lease: build.lease, logs: lines))
                    guard case .updated = try await daemon.reply(to: Int64(round + 1)) else { Issue.record("update refused"); return }
                }
                let pool = database(setup)
                let id = try #require(try await buildID(pool, job: build.lease.jobID))
                let response = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(id)/logs", token: setup.cluster.token)
                #expect(response.status == 200)
                let logs = try response.jsonArray
                #expect(logs.count == 6, "\(logs)")
                #expect((logs.last?["output"] as? String)?.contains("log limit") == true)
                #expect(logs.first?["output"] as? String == "line 0-0\u{FFFD}")
                // Paged reads.
                let paged = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(id)/logs?limit=2", token: setup.cluster.token)
                #expect(paged.status == 200)
                #expect(try paged.jsonArray.count == 2)
                await pool.close()
                await daemon.close()
            }
        }

        @Test func tagsBeyondTheLimitsAreRefusedBeforeTheUpgrade() async throws {
            try await withSetUp(replicas: 1) { setup in
                let a = setup.cluster.members[0]
                let path = ProvisionerServe.path(organization: "default")
                let many = (0...ProvisionerLimits.maxTags).map { "tag=k\($0)=v" }.joined(separator: "&")
                let long = "tag=k=" + String(repeating: "v", count: ProvisionerLimits.maxTagValueBytes + 1)
                for query in [many, long, "tag=k=a%00b"] {
                    let response = try await RawHTTP.upgrade(port: a.port, path: "\(path)?provisioner=echo&name=t&\(query)", headers: [("Coder-Provisioner-Daemon-PSK", Self.psk)])
                    #expect(response.status == 400, "\(query.prefix(40)): \(response.body)")
                }
                let version = try await RawHTTP.upgrade(port: a.port, path: "\(path)?provisioner=echo&name=t", headers: [
                    ("Coder-Provisioner-Daemon-PSK", Self.psk), ("X-Coder-Build-Version", String(repeating: "9", count: 129)),
                ])
                #expect(version.status == 400, "\(version.body)")
            }
        }
    }
}

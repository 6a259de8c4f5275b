import Foundation
import Provisioning
import ProvisionerProtocol
import Store
import Testing

/// The daemon protocol without sockets or a database: every message a hostile daemon can send,
/// in every state, and what the coordinator does about it.
@Suite struct DaemonSessionCoreTests {
    let daemonID = UUID()
    let replicaID = UUID()

    func text(_ message: DaemonMessage) -> String { ProvisionerCoding.encode(message) }

    func helloed() -> DaemonSessionCore {
        var core = DaemonSessionCore(daemonID: daemonID, replicaID: replicaID)
        _ = core.receive(text(.hello(Hello(daemonVersion: "test"))))
        return core
    }

    func lease(_ epoch: Int32 = 1, daemon: UUID? = nil) -> Lease { Lease(jobID: UUID(), daemonID: daemon ?? daemonID, epoch: epoch) }

    func job(_ lease: Lease) -> AcquiredJob { AcquiredJob(lease: lease, type: "workspace_build", provisioner: "echo", archive: "") }

    /// A core that holds `lease` (acquired on request 1).
    func holding(_ lease: Lease) -> DaemonSessionCore {
        var core = helloed()
        _ = core.receive(text(.acquire(id: 1)))
        _ = core.acquired(requestID: 1, job(lease))
        return core
    }

    func jobLease(_ lease: Lease) -> JobLease { JobLease(jobID: lease.jobID, daemonID: lease.daemonID, epoch: lease.epoch) }

    func isStale(_ actions: [DaemonSessionCore.Action], id: Int64) -> Bool {
        if case .send(.error(id, .staleLease, _))? = actions.first, actions.count == 1 { return true }
        return false
    }

    // MARK: handshake

    @Test func helloIsAnsweredWithWelcome() {
        var core = DaemonSessionCore(daemonID: daemonID, replicaID: replicaID)
        #expect(core.receive(text(.hello(Hello(daemonVersion: "x")))) == [.send(.welcome(Welcome(version: 1, daemonID: daemonID, replicaID: replicaID)))])
        #expect(core.helloSeen)
    }

    /// What a daemon says its provisioners run is stored only within the tags' limits (it is
    /// shown to every reader of the list); the welcome tells the hang timeout.
    @Test func helloVersionsAreRecordedWithinTheTagsLimits() {
        let welcome = CoordinatorMessage.welcome(Welcome(version: 1, daemonID: daemonID, replicaID: replicaID, jobHangTimeoutMS: 4000))
        func actions(_ versions: [String: String]?) -> [DaemonSessionCore.Action] {
            var core = DaemonSessionCore(daemonID: daemonID, replicaID: replicaID, jobHangTimeout: .seconds(4))
            return core.receive(text(.hello(Hello(daemonVersion: "x", provisionerVersions: versions))))
        }
        #expect(actions(nil) == [.send(welcome)])
        #expect(actions(["terraform": "1.11.4"]) == [.send(welcome), .recordProvisionerVersions(["terraform": "1.11.4"])])
        #expect(actions(["terraform": String(repeating: "9", count: 257)]) == [.send(welcome)])
        #expect(actions(["terraform": "1.11\u{7}"]) == [.send(welcome)])
        #expect(actions(Dictionary(uniqueKeysWithValues: (0..<17).map { ("p\($0)", "1") })) == [.send(welcome)])
    }

    @Test func anythingBeforeHelloCloses() {
        for message in [DaemonMessage.acquire(id: 1), .resume(id: 1, lease: lease()), .update(id: 1, lease: lease(), logs: []),
                        .commitQuota(id: 1, lease: lease(), dailyCost: 1), .complete(id: 1, lease: lease(), result: JobResult(resources: [])),
                        .fail(id: 1, lease: lease(), error: "x", state: nil), .cancelAcquire(id: 1)] {
            var core = DaemonSessionCore(daemonID: daemonID, replicaID: replicaID)
            #expect(core.receive(text(message)) == [.close(.protocolViolation("the first message must be \"hello\""))])
        }
    }

    @Test func anUnsupportedVersionIsRefused() {
        var core = DaemonSessionCore(daemonID: daemonID, replicaID: replicaID)
        let actions = core.receive(text(.hello(Hello(version: 99, daemonVersion: "x"))))
        guard case .send(.error(nil, .unsupportedVersion, _)) = actions.first else { Issue.record("\(actions)"); return }
        #expect(actions.last == .close(.unsupportedVersion(99)))
        #expect(!core.helloSeen)
    }

    @Test func aSecondHelloCloses() {
        var core = helloed()
        #expect(core.receive(text(.hello(Hello(daemonVersion: "x")))) == [.close(.protocolViolation("\"hello\" was already sent"))])
    }

    @Test func garbageIsAnsweredAndCloses() {
        for garbage in ["", "not json", "[]", "{}", #"{"type":"explode"}"#, #"{"type":"acquire"}"#, #"{"type":"commit_quota","id":1,"daily_cost":-1}"#] {
            var core = helloed()
            let actions = core.receive(garbage)
            guard case .send(.error(nil, .badRequest, _))? = actions.first, case .close(.protocolViolation)? = actions.last else {
                Issue.record("\(garbage): \(actions)"); continue
            }
        }
    }

    // MARK: acquire

    @Test func oneAcquireAtATime() {
        var core = helloed()
        #expect(core.receive(text(.acquire(id: 1))) == [.acquire(requestID: 1, reclaimExcept: [])])
        guard case .send(.error(2, .badRequest, _))? = core.receive(text(.acquire(id: 2))).first else { Issue.record("second acquire accepted"); return }
        #expect(core.waitingAcquire == 1)
        // Once it is answered, another may wait.
        let l = lease()
        #expect(core.acquired(requestID: 1, job(l)) == [.send(.job(id: 1, job: job(l)))])
        #expect(core.waitingAcquire == nil)
        #expect(core.receive(text(.acquire(id: 3))) == [.acquire(requestID: 3, reclaimExcept: [l.jobID])])
    }

    @Test func cancelAcquireOnlyForTheWaitingOne() {
        var core = helloed()
        _ = core.receive(text(.acquire(id: 1)))
        #expect(core.receive(text(.cancelAcquire(id: 7))) == [])
        #expect(core.receive(text(.cancelAcquire(id: 1))) == [.cancelAcquire(requestID: 1)])
        #expect(core.acquireEnded(requestID: 1) == [.send(.acquireCanceled(id: 1))])
        #expect(core.waitingAcquire == nil)
    }

    // MARK: leases

    @Test func requestsForLeasesThisConnectionDoesNotHoldAreStale() {
        var core = helloed()
        let foreign = lease()
        #expect(isStale(core.receive(text(.update(id: 1, lease: foreign, logs: []))), id: 1))
        #expect(isStale(core.receive(text(.commitQuota(id: 2, lease: foreign, dailyCost: 1))), id: 2))
        #expect(isStale(core.receive(text(.complete(id: 3, lease: foreign, result: JobResult(resources: [])))), id: 3))
        #expect(isStale(core.receive(text(.fail(id: 4, lease: foreign, error: "x", state: nil))), id: 4))
        // Another epoch of a held job is not the held lease.
        let held = lease(2)
        core = holding(held)
        let older = Lease(jobID: held.jobID, daemonID: daemonID, epoch: 1)
        #expect(isStale(core.receive(text(.update(id: 5, lease: older, logs: []))), id: 5))
    }

    @Test func onlyTheDaemonALeaseNamesMayResumeIt() {
        var core = helloed()
        let other = lease(daemon: UUID())
        #expect(isStale(core.receive(text(.resume(id: 1, lease: other))), id: 1))
        let mine = lease()
        #expect(core.receive(text(.resume(id: 2, lease: mine))) == [.resume(requestID: 2, jobLease(mine))])
        #expect(isStale(core.resumed(requestID: 2, jobLease(mine), job: nil), id: 2))
        #expect(core.leases.isEmpty)
        #expect(core.resumed(requestID: 3, jobLease(mine), job: job(mine)) == [.send(.job(id: 3, job: job(mine)))])
        #expect(core.leases == [jobLease(mine)])
    }

    @Test func updatesFlowUntilTheLeaseGoesStale() {
        let l = lease()
        var core = holding(l)
        let actions = core.receive(text(.update(id: 2, lease: l, logs: [LogLine(output: "hi", createdAt: Date(timeIntervalSince1970: 1))])))
        guard case .update(2, jobLease(l), let lines)? = actions.first else { Issue.record("\(actions)"); return }
        #expect(lines.map(\.output) == ["hi"])
        #expect(core.updated(requestID: 2, jobLease(l), canceled: true) == [.send(.updated(id: 2, canceled: true))])
        #expect(isStale(core.updated(requestID: 3, jobLease(l), canceled: nil), id: 3))
        #expect(core.leases.isEmpty)
    }

    @Test func aQuotaCommitIsDecidedByTheStoreFor64BitCosts() {
        let l = lease()
        var core = holding(l)
        let cost = Int64(Int32.max) * 3
        #expect(core.receive(text(.commitQuota(id: 2, lease: l, dailyCost: cost))) == [.commitQuota(requestID: 2, jobLease(l), dailyCost: cost)])
        // Whatever the decision, it is answered as decided, and the lease is still held.
        let allowed = QuotaDecision(ok: true, creditsConsumed: cost, budget: -1)
        #expect(core.quotaCommitted(requestID: 2, jobLease(l), allowed) == [.send(.quota(id: 2, ok: true, creditsConsumed: cost, budget: -1))])
        let refused = QuotaDecision(ok: false, creditsConsumed: 10, budget: 12)
        #expect(core.quotaCommitted(requestID: 3, jobLease(l), refused) == [.send(.quota(id: 3, ok: false, creditsConsumed: 10, budget: 12))])
        #expect(core.leases == [jobLease(l)])
    }

    @Test func aQuotaCommitThatCannotBeDecidedIsAnErrorNotAClose() {
        let l = lease()
        var core = holding(l)
        _ = core.receive(text(.commitQuota(id: 2, lease: l, dailyCost: 1)))
        #expect(core.quotaFailed(requestID: 2) == [.send(.error(id: 2, code: .internalError, message: "the workspace quota could not be decided; try the build again"))])
        #expect(core.leases == [jobLease(l)])
        #expect(!core.isEnded)
    }

    @Test func aQuotaCommitUnderALeaseGoneStaleInTheStoreIsStale() {
        let l = lease()
        var core = holding(l)
        _ = core.receive(text(.commitQuota(id: 2, lease: l, dailyCost: 1)))
        #expect(isStale(core.quotaCommitted(requestID: 2, jobLease(l), nil), id: 2))
        #expect(core.leases.isEmpty)
        // Then the connection no longer holds it: a further commit is refused without the Store.
        #expect(isStale(core.receive(text(.commitQuota(id: 3, lease: l, dailyCost: 1))), id: 3))
    }

    @Test func anEndedCoreCommitsNothing() {
        let l = lease()
        var core = holding(l)
        _ = core.end(.closed)
        #expect(core.receive(text(.commitQuota(id: 2, lease: l, dailyCost: 1))) == [])
    }

    @Test func aValidCompleteFinishesTheJob() {
        let l = lease()
        var core = holding(l)
        let actions = core.receive(text(.complete(id: 2, lease: l, result: JobResult(resources: [Resource(name: "a", type: "vm", dailyCost: 5)], state: "c3Q="))))
        guard case .finish(2, jobLease(l), .completed, let resources, let state, [], .done(2))? = actions.first else { Issue.record("\(actions)"); return }
        #expect(resources == [JobResource(name: "a", type: "vm", dailyCost: 5)])
        #expect(state == Array("st".utf8))
        #expect(core.finished(requestID: 2, jobLease(l), applied: true, reply: .done(id: 2)) == [.send(.done(id: 2))])
        #expect(core.leases.isEmpty)
        // A second complete of the same lease is stale.
        #expect(isStale(core.receive(text(.complete(id: 3, lease: l, result: JobResult(resources: [])))), id: 3))
    }

    @Test func anInvalidCompleteFailsTheJobAndIsABadRequest() {
        let l = lease()
        var core = holding(l)
        let actions = core.receive(text(.complete(id: 2, lease: l, result: JobResult(resources: [Resource(name: "a", type: "vm", dailyCost: -1)]))))
        guard case .finish(2, _, .failed(let error, nil), [], nil, [], .error(2, .badRequest, _))? = actions.first else { Issue.record("\(actions)"); return }
        #expect(error.hasPrefix("The provisioner daemon reported an invalid result: "))
    }

    @Test func aFailIsRecordedWithAStateOnlyIfItFits() {
        let l = lease()
        var core = holding(l)
        let big = Data(count: ProvisionerLimits.maxStateBytes + 1).base64EncodedString()
        guard case .finish(_, _, .failed("boom", nil), [], nil, [], .done(2))? = core.receive(text(.fail(id: 2, lease: l, error: "boom", state: big))).first else {
            Issue.record("oversized state kept"); return
        }
        let m = lease()
        core = holding(m)
        guard case .finish(_, _, .failed, [], Array("st".utf8)?, [], _)? = core.receive(text(.fail(id: 2, lease: m, error: "boom", state: "c3Q="))).first else {
            Issue.record("state dropped"); return
        }
        #expect(isStale(core.finished(requestID: 2, jobLease(m), applied: false, reply: .done(id: 2)), id: 2))
    }

    @Test func cancellationsReachOnlyTheConnectionHoldingTheJob() {
        let l = lease()
        let core = holding(l)
        #expect(core.jobCanceled(l.jobID) == [.send(.cancel(jobID: l.jobID))])
        #expect(core.jobCanceled(UUID()) == [])
    }

    @Test func aJobThatCannotBePreparedGoesBackAndTheDaemonMayAskAgain() {
        var core = helloed()
        _ = core.receive(text(.acquire(id: 1)))
        let l = lease()
        let actions = core.preparationFailed(requestID: 1, jobLease(l), reason: "no payload")
        #expect(actions.first == .releaseUndelivered([jobLease(l)]))
        guard case .send(.error(1, .internalError, _))? = actions.last else { Issue.record("\(actions)"); return }
        #expect(core.waitingAcquire == nil)
        #expect(core.leases.isEmpty)
        #expect(core.receive(text(.acquire(id: 2))) == [.acquire(requestID: 2, reclaimExcept: [])])
    }

    // MARK: the end

    @Test func aClosedConnectionReleasesUndeliveredJobsAndDisconnects() {
        var core = helloed()
        _ = core.receive(text(.acquire(id: 1)))
        #expect(core.end(.closed) == [.cancelAcquire(requestID: 1)])
        let l = lease()
        // The acquire had taken a job just before: sending it fails.
        _ = core.acquired(requestID: 1, job(l))
        core.deliveryFailed(jobLease(l))
        #expect(core.cleanUp() == [.releaseUndelivered([jobLease(l)]), .disconnect])
        #expect(core.acquireEnded(requestID: 1) == [])
        #expect(core.receive(text(.acquire(id: 2))) == [])
        #expect(core.end(.closed) == [])
    }

    @Test func anOversizedMessageFailsTheConnectionsJobs() {
        var core = holding(lease())
        #expect(core.end(.messageTooBig(limit: 10)) == [])
        guard case .failConnectionJobs(let error)? = core.cleanUp().first else { Issue.record("jobs not failed"); return }
        #expect(error.contains("larger than the other side accepts"))
        #expect(core.cleanUp().last == .disconnect)
    }
}

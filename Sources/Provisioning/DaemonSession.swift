import Foundation
import Logging
import Postgres
import ProvisionerProtocol
import Store
import Synchronization

/// One connected daemon, on the coordinator's side: the adapter between a connection and its
/// `DaemonSessionCore`. It hands the core each inbound message and the result of each piece of
/// work, and does what the core decides (send, store, acquire). It knows nothing of WebSocket:
/// the caller hands it the inbound text messages and a way to send, and calls `end` when the
/// connection is over.
public final class DaemonSession: Sendable {
    /// The error a job gets whose report the database could not store.
    static let unstorableReport = "The provisioner daemon reported text the database cannot store (it held U+0000)."

    /// Why a session ended early; the caller closes the connection accordingly.
    public enum Failure: Error, Sendable, Equatable {
        /// A message that is not the protocol (the caller closes with 1008, policy violation).
        case protocolViolation(String)
        case unsupportedVersion(Int)
    }

    public typealias Ending = DaemonSessionCore.Ending
    public typealias Send = @Sendable (String) async throws -> Void

    public let identity: DaemonIdentity
    private let store: Store
    private let acquirer: JobAcquirer
    private let logLimits: JobLogLimits
    private let quotaCommits: QuotaCommits
    private let logger: Logger
    private let core: Mutex<DaemonSessionCore>
    private let acquires = Mutex<[Int64: Task<Void, Never>]>([:])
    private let sender = Mutex<Send?>(nil)

    public init(
        identity: DaemonIdentity, replicaID: UUID, store: Store, acquirer: JobAcquirer, logLimits: JobLogLimits = JobLogLimits(),
        quotaCommits: QuotaCommits = QuotaCommits(enforced: { false }), jobHangTimeout: Duration? = nil, logger: Logger
    ) {
        self.identity = identity
        self.store = store
        self.acquirer = acquirer
        self.logLimits = logLimits
        self.quotaCommits = quotaCommits
        self.logger = logger
        self.core = Mutex(DaemonSessionCore(daemonID: identity.id, replicaID: replicaID, jobHangTimeout: jobHangTimeout))
    }

    /// Serves the connection until `inbound` ends or a message breaks the protocol.
    public func run<Inbound: AsyncSequence & Sendable>(inbound: Inbound, send: @escaping Send) async throws where Inbound.Element == String {
        sender.withLock { $0 = send }
        for try await text in inbound {
            // One message at a time: the only work that outlives its message is the waiting acquire.
            try await perform(core.withLock { $0.receive(text) }, send: send)
        }
    }

    /// A job was canceled somewhere: if this connection holds it, the daemon hears at once.
    public func jobCanceled(_ jobID: UUID) async {
        guard let send = sender.withLock({ $0 }) else { return }
        try? await perform(core.withLock { $0.jobCanceled(jobID) }, send: send)
    }

    /// The connection is over: the waiting acquire ends (a job it took meanwhile goes back), and the
    /// jobs this connection held start their grace period (the daemon may resume them from any
    /// replica), unless the way it ended makes resuming pointless.
    public func end(_ ending: Ending) async {
        sender.withLock { $0 = nil }
        for case .cancelAcquire(let id) in core.withLock({ $0.end(ending) }) {
            acquires.withLock { $0[id] }?.cancel()
        }
        // Every acquire task, also one that has its job and is still sending it: what it could not
        // deliver is known only once it is done.
        for task in acquires.withLock({ Array($0.values) }) { await task.value }
        for action in core.withLock({ $0.cleanUp() }) {
            switch action {
            case .failConnectionJobs(let error):
                try? await store.failJobs(connectionID: identity.connectionID, error: error)
            case .releaseUndelivered(let leases):
                for lease in leases { try? await store.releaseUndeliveredJob(lease) }
            case .disconnect:
                try? await store.markLeasesLost(connectionID: identity.connectionID)
                try? await store.daemonDisconnected(connectionID: identity.connectionID)
            default:
                break
            }
        }
    }

    private func perform(_ actions: [DaemonSessionCore.Action], send: @escaping Send) async throws {
        for action in actions {
            switch action {
            case .send(let message):
                try await send(ProvisionerCoding.encode(message))
            case .close(.protocolViolation(let reason)):
                throw Failure.protocolViolation(reason)
            case .close(.unsupportedVersion(let version)):
                throw Failure.unsupportedVersion(version)
            case .recordProvisionerVersions(let versions):
                // Shown, not relied on: a failure to store them does not end the session.
                try? await store.recordProvisionerVersions(versions, daemonID: identity.id, connectionID: identity.connectionID)
            case .acquire(let id, let except):
                // Registered before it can finish, so that it never removes itself too early.
                acquires.withLock { acquires in
                    acquires[id] = Task {
                        await self.acquire(id, reclaimExcept: except, send: send)
                        _ = self.acquires.withLock { $0.removeValue(forKey: id) }
                    }
                }
            case .cancelAcquire(let id):
                acquires.withLock { $0[id] }?.cancel()
            case .resume(let id, let lease):
                var payload: AcquiredJob?
                if let job = try await store.resumeJob(lease, connectionID: identity.connectionID, instanceID: identity.instanceID) {
                    logger.info("daemon resumed its job", metadata: ["daemon": "\(identity.name)", "job": "\(lease.jobID)"])
                    payload = try await acquired(job, lease: lease)
                }
                try await perform(core.withLock { $0.resumed(requestID: id, lease, job: payload) }, send: send)
            case .update(let id, let lease, let lines):
                var canceled: Bool?
                do {
                    do {
                        canceled = try await store.updateJob(lease, connectionID: identity.connectionID, logs: lines, limits: logLimits).canceled
                    } catch let error as PostgresError where error.isUnstorableText {
                        // The backstop behind the log sanitizing (`NULCharacter.replaced`): lines the
                        // database cannot hold are dropped, not a reason to end the session (the
                        // daemon would send them again on every reconnect, for ever).
                        logger.warning("dropped a job update's log lines the database cannot store", metadata: ["job": "\(lease.jobID)", "error": "\(error)"])
                        canceled = try await store.updateJob(lease, connectionID: identity.connectionID, logs: [], limits: logLimits).canceled
                    }
                } catch LeaseError.stale {
                    canceled = nil
                }
                try await perform(core.withLock { $0.updated(requestID: id, lease, canceled: canceled) }, send: send)
            case .commitQuota(let id, let lease, let dailyCost):
                var decision: QuotaDecision?
                do {
                    decision = try await quotaCommits.commit(lease, connectionID: identity.connectionID, dailyCost: dailyCost, in: store)
                } catch LeaseError.stale {
                    decision = nil
                } catch {
                    logger.warning("a quota commit failed", metadata: ["job": "\(lease.jobID)", "error": "\(error)"])
                    try await perform(core.withLock { $0.quotaFailed(requestID: id) }, send: send)
                    continue
                }
                if let decision, !decision.ok {
                    logger.info("build refused: over its owner's workspace quota", metadata: [
                        "job": "\(lease.jobID)", "daily_cost": "\(dailyCost)", "credits_consumed": "\(decision.creditsConsumed)", "budget": "\(decision.budget)",
                    ])
                }
                try await perform(core.withLock { $0.quotaCommitted(requestID: id, lease, decision) }, send: send)
            case .finish(let id, let lease, let outcome, let resources, let state, let variables, let reply):
                var applied = true
                do {
                    do {
                        try await store.finishJob(lease, connectionID: identity.connectionID, outcome, resources: resources, state: state, variables: variables)
                    } catch let error as PostgresError where error.isUnstorableText {
                        // As for updates: a report the database cannot hold fails the job rather
                        // than the session, which the daemon would replay on every reconnect.
                        logger.warning("a job's report held text the database cannot store; failing the job", metadata: ["job": "\(lease.jobID)", "error": "\(error)"])
                        try await store.finishJob(lease, connectionID: identity.connectionID, .failed(error: Self.unstorableReport, errorCode: nil))
                    }
                } catch LeaseError.stale {
                    applied = false
                }
                try await perform(core.withLock { $0.finished(requestID: id, lease, applied: applied, reply: reply) }, send: send)
            case .releaseUndelivered(let leases):
                for lease in leases { try? await store.releaseUndeliveredJob(lease) }
            case .failConnectionJobs, .disconnect:
                break // only `cleanUp` produces these, for `end`
            }
        }
    }

    private func acquire(_ id: Int64, reclaimExcept held: [UUID], send: @escaping Send) async {
        try? await store.reclaimJobs(daemonID: identity.id, instanceID: identity.instanceID, connectionID: identity.connectionID, except: held)
        do {
            let job = try await acquirer.acquire(for: identity)
            let lease = JobLease(jobID: job.id, daemonID: identity.id, epoch: job.lease?.epoch ?? 0)
            let payload: AcquiredJob
            do {
                payload = try await acquired(job, lease: lease)
            } catch {
                logger.warning("a job taken for a daemon could not be prepared; it goes back", metadata: ["job": "\(job.id)", "error": "\(error)"])
                try? await perform(core.withLock { $0.preparationFailed(requestID: id, lease, reason: "the job could not be prepared; ask again") }, send: send)
                return
            }
            do {
                try await perform(core.withLock { $0.acquired(requestID: id, payload) }, send: send)
            } catch {
                // It never reached the daemon (sending fails only once the connection is over):
                // `end` puts it back for another, or fails it if it cannot be delivered at all.
                core.withLock { $0.deliveryFailed(lease) }
            }
        } catch {
            try? await perform(core.withLock { $0.acquireEnded(requestID: id) }, send: send)
        }
    }

    private func acquired(_ job: ProvisionerJob, lease: JobLease) async throws -> AcquiredJob {
        let payload = try await store.jobPayload(job)
        return AcquiredJob(
            lease: lease,
            type: job.type.rawValue, provisioner: job.provisioner,
            archive: Data(payload.archive).base64EncodedString(),
            transition: payload.build?.transition, state: payload.build?.state.map { Data($0).base64EncodedString() },
            canceled: job.canceledAt != nil,
            workspace: payload.build.map { JobWorkspace(id: $0.workspaceID, name: $0.workspaceName, owner: $0.owner, ownerEmail: $0.ownerEmail) },
            variables: payload.variables.isEmpty ? nil : payload.variables
        )
    }
}

import Foundation
import Logging
import ProvisionerProtocol
import Store
import Synchronization

/// One connected daemon, on the coordinator's side: it reads protocol messages, answers them, and
/// tells the daemon at once when one of its jobs is canceled. It knows nothing of WebSocket: the
/// caller hands it the inbound text messages and a way to send, and calls `end` when the
/// connection is over.
///
/// Every lease it touches must be held by this connection: `resume` moves a lease of this daemon
/// here; `update`, `commit_quota`, `complete` and `fail` are refused for any other.
public final class DaemonSession: Sendable {
    /// Why a session ended early; the caller closes the connection accordingly.
    public enum Failure: Error, Sendable, Equatable {
        /// A message that is not the protocol (the caller closes with 1008, policy violation).
        case protocolViolation(String)
        case unsupportedVersion(Int)
    }

    /// How the connection ended, as far as the session's cleanup cares.
    public enum Ending: Sendable, Equatable {
        case closed
        /// The daemon sent a message over the limit: the jobs it holds fail, since resuming them
        /// elsewhere would only send the same message again.
        case messageTooBig(limit: Int)
    }

    public let identity: DaemonIdentity
    private let replicaID: UUID
    private let store: Store
    private let acquirer: JobAcquirer
    private let logLimits: JobLogLimits
    private let logger: Logger
    /// Leases this daemon holds on this connection.
    private let leases = Mutex<Set<JobLease>>([])
    private let acquires = Mutex<[Int64: Task<Void, Never>]>([:])
    private let sender = Mutex<(@Sendable (String) async throws -> Void)?>(nil)
    /// Jobs taken for this connection whose sending failed.
    private let undelivered = Mutex<Set<JobLease>>([])

    public init(identity: DaemonIdentity, replicaID: UUID, store: Store, acquirer: JobAcquirer, logLimits: JobLogLimits = JobLogLimits(), logger: Logger) {
        self.identity = identity
        self.replicaID = replicaID
        self.store = store
        self.acquirer = acquirer
        self.logLimits = logLimits
        self.logger = logger
    }

    /// Serves the connection until `inbound` ends or a message breaks the protocol.
    public func run<Inbound: AsyncSequence & Sendable>(
        inbound: Inbound, send: @escaping @Sendable (String) async throws -> Void
    ) async throws where Inbound.Element == String {
        sender.withLock { $0 = send }
        var helloSeen = false
        for try await text in inbound {
            let message: DaemonMessage
            switch Self.decode(text) {
            case .success(let decoded):
                message = decoded
            case .failure(let error):
                try? await send(ProvisionerCoding.encode(CoordinatorMessage.error(id: nil, code: .badRequest, message: error.description)))
                throw Failure.protocolViolation(error.description)
            }
            if !helloSeen {
                guard case .hello(let hello) = message else {
                    throw Failure.protocolViolation("the first message must be \"hello\"")
                }
                guard ProvisionerProtocolVersion.supported.contains(hello.version) else {
                    try? await send(ProvisionerCoding.encode(CoordinatorMessage.error(
                        id: nil, code: .unsupportedVersion,
                        message: "protocol version \(hello.version) is not supported; this coordinator speaks \(ProvisionerProtocolVersion.supported)"
                    )))
                    throw Failure.unsupportedVersion(hello.version)
                }
                helloSeen = true
                try await send(ProvisionerCoding.encode(CoordinatorMessage.welcome(.init(
                    version: hello.version, daemonID: identity.id, replicaID: replicaID
                ))))
                continue
            }
            try await handle(message, send: send)
        }
    }

    private static func decode(_ text: String) -> Result<DaemonMessage, ProvisionerCoding.DecodingFailure> {
        Result { () throws(ProvisionerCoding.DecodingFailure) in try ProvisionerCoding.decodeDaemonMessage(text) }
    }

    /// A job was canceled somewhere: if this connection holds it, the daemon hears at once.
    public func jobCanceled(_ jobID: UUID) async {
        guard leases.withLock({ $0.contains { $0.jobID == jobID } }), let send = sender.withLock({ $0 }) else { return }
        try? await send(ProvisionerCoding.encode(CoordinatorMessage.cancel(jobID: jobID)))
    }

    /// The connection is over: waiting acquires end (a job taken meanwhile goes back), and the
    /// jobs this connection held start their grace period (the daemon may resume them from any
    /// replica), unless the way it ended makes resuming pointless.
    public func end(_ ending: Ending) async {
        sender.withLock { $0 = nil }
        let waiting = acquires.withLock { Array($0.values) }
        for task in waiting { task.cancel() }
        for task in waiting { await task.value }
        if case .messageTooBig(let limit) = ending {
            // Held and undelivered jobs alike: whichever side's message was too big, sending it
            // again (to this daemon after a reconnect, or to another like it) would fail the same way.
            try? await store.failJobs(
                connectionID: identity.connectionID,
                error: "A message between the coordinator and the provisioner daemon was larger than the other side accepts (the coordinator's limit is \(limit) bytes): the template archive or the provisioner's state is too large for this daemon."
            )
        } else {
            for lease in undelivered.withLock({ $0 }) { try? await store.releaseUndeliveredJob(lease) }
        }
        try? await store.markLeasesLost(connectionID: identity.connectionID)
        try? await store.daemonDisconnected(connectionID: identity.connectionID)
    }

    private func handle(_ message: DaemonMessage, send: @escaping @Sendable (String) async throws -> Void) async throws {
        let reply: @Sendable (CoordinatorMessage) async throws -> Void = { try await send(ProvisionerCoding.encode($0)) }
        switch message {
        case .hello:
            throw Failure.protocolViolation("\"hello\" was already sent")
        case .acquire(let id):
            // A daemon holds one job at a time, so it has no use for a second waiting acquire;
            // refusing it bounds what one connection can ask of the database. The check and the
            // registration are one step, and the task cannot remove itself before it is registered.
            let held = leases.withLock { $0.map(\.jobID) }
            let waiting: Int64? = acquires.withLock { acquires in
                if let waiting = acquires.keys.first { return waiting }
                acquires[id] = Task {
                    await self.acquire(id, holding: held, reply: reply)
                    _ = self.acquires.withLock { $0.removeValue(forKey: id) }
                }
                return nil
            }
            if let waiting {
                try await reply(.error(id: id, code: .badRequest, message: "acquire \(waiting) is still waiting; send one acquire at a time"))
            }
        case .cancelAcquire(let id):
            acquires.withLock { $0[id] }?.cancel()
        case .resume(let id, let lease):
            let jobLease = JobLease(jobID: lease.jobID, daemonID: lease.daemonID, epoch: lease.epoch)
            guard lease.daemonID == identity.id, let job = try await store.resumeJob(jobLease, connectionID: identity.connectionID) else {
                try await reply(.error(id: id, code: .staleLease, message: "lease \(lease.jobID) epoch \(lease.epoch) is not current: the job ended or another daemon holds it"))
                return
            }
            leases.withLock { _ = $0.insert(jobLease) }
            logger.info("daemon resumed its job", metadata: ["daemon": "\(identity.name)", "job": "\(job.id)"])
            try await reply(.job(id: id, job: try await acquired(job, lease: jobLease)))
        case .update(let id, let lease, let logs):
            guard let jobLease = held(lease) else { return try await reply(stale(id, lease)) }
            do {
                let lines = logs.map { JobLogLine(createdAt: $0.createdAt, level: $0.level, stage: $0.stage, output: $0.output) }
                let (canceled, _) = try await store.updateJob(jobLease, connectionID: identity.connectionID, logs: lines, limits: logLimits)
                try await reply(.updated(id: id, canceled: canceled))
            } catch LeaseError.stale {
                leases.withLock { _ = $0.remove(jobLease) }
                try await reply(stale(id, lease))
            }
        case .commitQuota(let id, let lease, let dailyCost):
            guard held(lease) != nil else { return try await reply(stale(id, lease)) }
            // Quota enforcement arrives with the quota issue; until then every build is allowed.
            try await reply(.quota(id: id, ok: true, creditsConsumed: dailyCost, budget: 0))
        case .complete(let id, let lease, let result):
            guard let jobLease = held(lease) else { return try await reply(stale(id, lease)) }
            switch JobReport.validate(result) {
            case .invalid(let reason):
                // Failing the job ends it cleanly: sent again (after a reconnect), the same
                // result would be refused again.
                if try await finish(id, lease, jobLease, .failed(error: "The provisioner daemon reported an invalid result: \(reason)", errorCode: nil), reply: reply) {
                    try await reply(.error(id: id, code: .badRequest, message: reason))
                }
            case .valid(let resources, let state):
                let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
                if try await finish(id, lease, jobLease, .completed(result: json), resources: resources, state: state, reply: reply) {
                    try await reply(.done(id: id))
                }
            }
        case .fail(let id, let lease, let error, let state):
            guard let jobLease = held(lease) else { return try await reply(stale(id, lease)) }
            // A failure is recorded whatever else is wrong with it; a state we cannot take is left
            // out (the last good one is kept).
            let decodedState = JobReport.state(state)
            if try await finish(id, lease, jobLease, .failed(error: JobReport.errorText(error), errorCode: nil), state: decodedState, reply: reply) {
                try await reply(.done(id: id))
            }
        }
    }

    private func acquire(_ id: Int64, holding held: [UUID], reply: @Sendable (CoordinatorMessage) async throws -> Void) async {
        // Asking for work means the daemon holds nothing else: jobs still leased to it that it
        // did not resume here never reached it, or died with an earlier process of it.
        try? await store.reclaimJobs(daemonID: identity.id, connectionID: identity.connectionID, except: held)
        do {
            let job = try await acquirer.acquire(for: identity)
            let lease = JobLease(jobID: job.id, daemonID: identity.id, epoch: job.lease?.epoch ?? 0)
            do {
                let acquired = try await acquired(job, lease: lease)
                leases.withLock { _ = $0.insert(lease) }
                try await reply(.job(id: id, job: acquired))
            } catch {
                // It never reached the daemon (sending fails only once the connection is over):
                // `end` puts it back for another, or fails it if it cannot be delivered at all.
                leases.withLock { _ = $0.remove(lease) }
                undelivered.withLock { _ = $0.insert(lease) }
            }
        } catch {
            try? await reply(.acquireCanceled(id: id))
        }
    }

    /// Ends the job; false (after answering `stale_lease`) if the lease was not current.
    private func finish(
        _ id: Int64, _ lease: Lease, _ jobLease: JobLease, _ outcome: JobOutcome, resources: [JobResource] = [], state: [UInt8]? = nil,
        reply: (CoordinatorMessage) async throws -> Void
    ) async throws -> Bool {
        defer { leases.withLock { _ = $0.remove(jobLease) } }
        do {
            try await store.finishJob(jobLease, connectionID: identity.connectionID, outcome, resources: resources, state: state)
            return true
        } catch LeaseError.stale {
            try await reply(stale(id, lease))
            return false
        }
    }

    private func held(_ lease: Lease) -> JobLease? {
        let jobLease = JobLease(jobID: lease.jobID, daemonID: lease.daemonID, epoch: lease.epoch)
        return leases.withLock { $0.contains(jobLease) } ? jobLease : nil
    }

    private func stale(_ id: Int64, _ lease: Lease) -> CoordinatorMessage {
        .error(id: id, code: .staleLease, message: "lease \(lease.jobID) epoch \(lease.epoch) is not held on this connection: resume it first, or the job has ended")
    }

    private func acquired(_ job: ProvisionerJob, lease: JobLease) async throws -> AcquiredJob {
        let payload = try await store.jobPayload(job)
        return AcquiredJob(
            lease: Lease(jobID: lease.jobID, daemonID: lease.daemonID, epoch: lease.epoch),
            type: job.type.rawValue, provisioner: job.provisioner,
            archive: Data(payload.archive).base64EncodedString(),
            transition: payload.transition, state: payload.state.map { Data($0).base64EncodedString() },
            canceled: job.canceledAt != nil
        )
    }
}

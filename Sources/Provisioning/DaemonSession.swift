import Foundation
import Logging
import ProvisionerProtocol
import Pubsub
import Store
import Synchronization

/// One connected daemon, on the coordinator's side: it reads protocol messages, answers them, and
/// tells the daemon at once when one of its jobs is canceled. It knows nothing of WebSocket: the
/// caller hands it the inbound text messages and a way to send.
public final class DaemonSession: Sendable {
    /// Why a session ended early; the caller closes the connection accordingly.
    public enum Failure: Error, Sendable, Equatable {
        /// A message that is not the protocol (the caller closes with 1008, policy violation).
        case protocolViolation(String)
        case unsupportedVersion(Int)
    }

    public let identity: DaemonIdentity
    private let replicaID: UUID
    private let store: Store
    private let acquirer: JobAcquirer
    private let pubsub: Pubsub
    private let logger: Logger
    private let heartbeatInterval: Duration
    /// Leases this daemon holds on this connection.
    private let leases = Mutex<Set<JobLease>>([])
    private let acquires = Mutex<[Int64: Task<Void, Never>]>([:])

    public init(identity: DaemonIdentity, replicaID: UUID, store: Store, acquirer: JobAcquirer, pubsub: Pubsub, heartbeatInterval: Duration = .seconds(10), logger: Logger) {
        self.identity = identity
        self.replicaID = replicaID
        self.store = store
        self.acquirer = acquirer
        self.pubsub = pubsub
        self.heartbeatInterval = heartbeatInterval
        self.logger = logger
    }

    /// Serves the connection until `inbound` ends or a message breaks the protocol.
    public func run<Inbound: AsyncSequence & Sendable>(
        inbound: Inbound, send: @escaping @Sendable (String) async throws -> Void
    ) async throws where Inbound.Element == String {
        let cancellations = pubsub.subscribe(Store.jobCanceledChannel)
        defer { Task { await self.disconnected() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in cancellations {
                    guard case .message(let raw) = event, let jobID = UUID(uuidString: raw) else { continue }
                    if self.leases.withLock({ $0.contains { $0.jobID == jobID } }) {
                        try? await send(ProvisionerCoding.encode(CoordinatorMessage.cancel(jobID: jobID)))
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: self.heartbeatInterval)
                    try? await self.store.daemonSeen(id: self.identity.id)
                }
            }
            var helloSeen = false
            for try await text in inbound {
                let message: DaemonMessage
                do {
                    message = try ProvisionerCoding.decodeDaemonMessage(text)
                } catch let error as ProvisionerCoding.DecodingFailure {
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
            group.cancelAll()
        }
    }

    private func handle(_ message: DaemonMessage, send: @escaping @Sendable (String) async throws -> Void) async throws {
        func reply(_ message: CoordinatorMessage) async throws { try await send(ProvisionerCoding.encode(message)) }
        switch message {
        case .hello:
            throw Failure.protocolViolation("\"hello\" was already sent")
        case .acquire(let id):
            // Asking for work means the daemon holds nothing else: jobs still leased to it that it
            // did not resume here never reached it, or died with an earlier process of it.
            try? await store.reclaimJobs(daemonID: identity.id, except: leases.withLock { $0.map(\.jobID) })
            let task = Task {
                defer { _ = self.acquires.withLock { $0.removeValue(forKey: id) } }
                do {
                    let job = try await self.acquirer.acquire(for: self.identity)
                    let lease = JobLease(jobID: job.id, daemonID: self.identity.id, epoch: job.lease?.epoch ?? 0)
                    do {
                        let acquired = try await self.acquired(job, lease: lease)
                        self.leases.withLock { _ = $0.insert(lease) }
                        try await reply(.job(id: id, job: acquired))
                    } catch {
                        // It never reached the daemon: put it back for another.
                        self.leases.withLock { _ = $0.remove(lease) }
                        try? await self.store.releaseUndeliveredJob(lease)
                    }
                } catch {
                    try? await reply(.acquireCanceled(id: id))
                }
            }
            acquires.withLock { $0[id] = task }
        case .cancelAcquire(let id):
            acquires.withLock { $0[id] }?.cancel()
        case .resume(let id, let lease):
            let jobLease = JobLease(jobID: lease.jobID, daemonID: lease.daemonID, epoch: lease.epoch)
            guard lease.daemonID == identity.id, let job = try await store.resumeJob(jobLease) else {
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
                let (canceled, _) = try await store.updateJob(jobLease, logs: lines)
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
            do {
                let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
                try await store.finishJob(
                    jobLease, .completed(result: json),
                    resources: result.resources.map { ($0.name, $0.type, $0.dailyCost) },
                    state: result.state.flatMap { Data(base64Encoded: $0) }.map { Array($0) }
                )
                leases.withLock { _ = $0.remove(jobLease) }
                try await reply(.done(id: id))
            } catch LeaseError.stale {
                leases.withLock { _ = $0.remove(jobLease) }
                try await reply(stale(id, lease))
            }
        case .fail(let id, let lease, let error, let state):
            guard let jobLease = held(lease) else { return try await reply(stale(id, lease)) }
            do {
                try await store.finishJob(jobLease, .failed(error: error, errorCode: nil), state: state.flatMap { Data(base64Encoded: $0) }.map { Array($0) })
                leases.withLock { _ = $0.remove(jobLease) }
                try await reply(.done(id: id))
            } catch LeaseError.stale {
                leases.withLock { _ = $0.remove(jobLease) }
                try await reply(stale(id, lease))
            }
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

    private func disconnected() async {
        for task in acquires.withLock({ Array($0.values) }) { task.cancel() }
        // Running jobs start their grace period; the daemon may resume them from any replica.
        try? await store.markLeasesLost(daemonID: identity.id)
        try? await store.daemonDisconnected(id: identity.id, replicaID: replicaID)
    }
}

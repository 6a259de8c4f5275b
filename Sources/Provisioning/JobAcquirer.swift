import Foundation
import Logging
import Pubsub
import Store
import Synchronization
import Telemetry
import WireFormat

/// What a connected daemon can run.
public struct DaemonIdentity: Sendable, Equatable {
    public var id: UUID
    /// This connection of the daemon: the leases it takes name it.
    public var connectionID: UUID
    /// The daemon process (its `instance_id`; empty for daemons that send none).
    public var instanceID: String
    public var name: String
    public var organizationID: UUID
    public var provisioners: [String]
    public var tags: [String: String]

    public init(id: UUID, connectionID: UUID, instanceID: String, name: String, organizationID: UUID, provisioners: [String], tags: [String: String]) {
        self.id = id
        self.connectionID = connectionID
        self.instanceID = instanceID
        self.name = name
        self.organizationID = organizationID
        self.provisioners = provisioners
        self.tags = tags
    }

    var groupKey: WaiterGroups<AsyncStream<Void>.Continuation>.Key {
        .init(organizationID: organizationID, provisioners: provisioners, tags: tags)
    }
}

/// Hands pending jobs to idle daemons of this replica. A daemon that finds nothing waits in its
/// group; `provisioner_job_posted` wakes one waiter of each group that can run the job (which
/// then tries the queue), the backup poll wakes one of every group, and a pubsub resync does too.
public final class JobAcquirer: Sendable {
    private typealias Bell = AsyncStream<Void>.Continuation
    private struct State {
        var groups = WaiterGroups<Bell>()
        var nextID: UInt64 = 0
    }

    private let store: Store
    private let pubsub: Pubsub
    private let backupPoll: Duration
    private let logger: Logger
    private let state = Mutex(State())
    /// However many groups wake at once (thousands of daemons with tags of their own, on the
    /// backup poll), the queue holds at most this many database connections.
    private let queueConnections: ConcurrencyLimit

    private let metrics: CoordinatorMetrics?

    public init(
        store: Store, pubsub: Pubsub, backupPoll: Duration = .seconds(5), maxConcurrentAcquisitions: Int = 4, metrics: CoordinatorMetrics? = nil,
        logger: Logger = Logger(label: "provisioning.acquirer")
    ) {
        self.metrics = metrics
        self.store = store
        self.pubsub = pubsub
        self.backupPoll = backupPoll
        self.queueConnections = ConcurrencyLimit(maxConcurrentAcquisitions)
        self.logger = logger
    }

    /// Follows job announcements until cancelled.
    public func run() async {
        let posted = pubsub.subscribe(Store.jobPostedChannel, bufferSize: 65_536)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in posted {
                    switch event {
                    case .message(let payload): self.wake(forPosted: payload)
                    case .resync: self.wakeEveryGroup()
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.backupPoll)
                    self.wakeEveryGroup()
                }
            }
        }
    }

    public var waitingDaemons: Int { state.withLock { $0.groups.count } }

    /// Blocks until a job for `daemon` is taken from the queue, or the task is cancelled.
    public func acquire(for daemon: DaemonIdentity) async throws -> ProvisionerJob {
        let key = daemon.groupKey
        let clock = ContinuousClock()
        // Dispatch is timed from the last wake-up (or the request, when work was waiting).
        var lookStarted = clock.now
        while true {
            try Task.checkCancellation()
            // Wait in the group before looking, so that a post during the look is not missed.
            let (wakes, bell) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let id = state.withLock { state in
                state.nextID += 1
                state.groups.add(bell, id: state.nextID, key: key)
                return state.nextID
            }
            let job: ProvisionerJob?
            do {
                job = try await queueConnections.run {
                    try await store.acquireJob(daemonID: daemon.id, connectionID: daemon.connectionID, instanceID: daemon.instanceID, organizationID: daemon.organizationID, provisioners: daemon.provisioners, tags: daemon.tags)
                }
            } catch is CancellationError {
                _ = state.withLock { $0.groups.remove(id: id, key: key) }
                throw CancellationError()
            } catch {
                _ = state.withLock { $0.groups.remove(id: id, key: key) }
                logger.warning("acquiring a job failed; retrying", metadata: ["daemon": "\(daemon.name)", "error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
                continue
            }
            if let job {
                if let metrics {
                    metrics.jobDispatch.record(clock.now - lookStarted)
                    // Both instants are the database's (created_at, started_at): no clock skew between machines.
                    let waited = max(0, (job.startedAt ?? Date()).timeIntervalSince(job.createdAt))
                    metrics.jobQueueWait(type: job.type.rawValue).record(.nanoseconds(Int64(min(waited, 1e9) * 1e9)))
                }
                _ = state.withLock { $0.groups.remove(id: id, key: key) }
                // There may be more: let the next waiter of the group look too.
                state.withLock { $0.groups.takeFirst(of: key) }?.yield()
                return job
            }
            await withTaskCancellationHandler {
                for await _ in wakes { break }
            } onCancel: {
                bell.finish()
            }
            lookStarted = clock.now
            _ = state.withLock { $0.groups.remove(id: id, key: key) }
        }
    }

    /// What `Store.announceJobPosted` sends.
    private struct Posted: Decodable {
        let organization_id: UUID
        let provisioner: String
        let tags: [String: String]?
    }

    private func wake(forPosted payload: String) {
        guard let posted = try? WireJSON.decode(Posted.self, from: Data(payload.utf8)) else {
            wakeEveryGroup()
            return
        }
        let bells = state.withLock { $0.groups.takeOneEach(organizationID: posted.organization_id, provisioner: posted.provisioner, tags: posted.tags ?? [:]) }
        for bell in bells { bell.yield() }
    }

    private func wakeEveryGroup() {
        let bells = state.withLock { $0.groups.takeOneOfEveryGroup() }
        for bell in bells { bell.yield() }
    }
}

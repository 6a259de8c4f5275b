import Foundation
import Logging
import Postgres
import Pubsub
import Store
import Support
import Synchronization
import Telemetry

/// This replica's membership in the set, and its view of the whole set.
///
/// - It heartbeats its row every `heartbeatInterval` with the database's clock, its measured
///   database latency and its current error, re-creating the row if a peer deleted it.
/// - It holds a session advisory lock on a dedicated connection for as long as it lives. When a
///   process dies its backend exits and the lock goes with it; the live-set query requires the
///   lock, so peers drop a crashed replica at their next read, without waiting for staleness.
/// - Peers re-read the live set on every `replica` NOTIFY, on pubsub resync, and every
///   `pollInterval` (the backup poll, which also catches crashes, since a crash sends no NOTIFY).
/// - On a clean stop it sets `stopped_at` and publishes, so peers drop it at once.
public final class ReplicaMembership: Sendable {
    public static let channel = "replica"

    private struct State {
        var snapshot = ReplicaSnapshot.empty
        var databaseReplicas: [Replica] = []
        var me: Replica
        var errors = ReplicaErrors()
        var lockKey: Int32 = Int32.random(in: 1...Int32.max)
        var lockHeld = false
        var lastPublishedError: String?
        var subscribers: [UInt64: AsyncStream<ReplicaSnapshot>.Continuation] = [:]
        var nextSubscriberID: UInt64 = 0
    }

    public let configuration: ReplicaConfiguration
    private let store: Store
    /// A pool of one connection that holds the liveness lock.
    private let lockPool: DatabasePool
    private let pubsub: Pubsub
    private let logger: Logger
    private let state: Mutex<State>
    private let refreshBell = Doorbell()
    private let heartbeatBell = Doorbell()
    private let startedAt = Date()

    private let metrics: CoordinatorMetrics?

    public init(
        configuration: ReplicaConfiguration, store: Store, lockConnectionString: String, pubsub: Pubsub, metrics: CoordinatorMetrics? = nil,
        logger: Logger = Logger(label: "replicas")
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.store = store
        self.lockPool = DatabasePool(.init(connectionString: lockConnectionString, maximumConnections: 1, acquireTimeout: .seconds(30)), logger: logger)
        self.pubsub = pubsub
        self.logger = logger
        let me = Replica(
            id: configuration.id, createdAt: startedAt, startedAt: startedAt, updatedAt: startedAt,
            hostname: configuration.hostname, regionID: configuration.regionID, relayAddress: configuration.relayAddress,
            version: configuration.version, databaseLatency: 0, error: ""
        )
        self.state = Mutex(State(me: me))
        publishSnapshot()
        metrics?.addCollector { [weak self] in
            guard let self else { return }
            metrics?.replicasLive.set(to: Double(snapshot.replicas.count))
            metrics?.deploymentReporter.set(to: isDeploymentReporter ? 1 : 0)
        }
    }

    /// Whether this replica exports the deployment-wide metrics: the live replica with the
    /// lowest id does (every replica agrees once their views agree; during a change two may
    /// for a heartbeat, or none).
    public var isDeploymentReporter: Bool {
        let ids = snapshot.replicas.map { $0.id.uuidString.lowercased() }
        let me = configuration.id.uuidString.lowercased()
        return ids.allSatisfy { me <= $0 }
    }

    public var snapshot: ReplicaSnapshot { state.withLock { $0.snapshot } }

    public var id: UUID { configuration.id }

    /// This replica's current error ("" when all is well).
    public var error: String { state.withLock { $0.errors.text } }

    /// A new snapshot every time the live set (or anything shown of it) changes.
    public func changes() -> AsyncStream<ReplicaSnapshot> {
        let (stream, continuation) = AsyncStream<ReplicaSnapshot>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (id, current) = state.withLock { state in
            state.nextSubscriberID += 1
            state.subscribers[state.nextSubscriberID] = continuation
            return (state.nextSubscriberID, state.snapshot)
        }
        continuation.yield(current)
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Runs until cancelled, then deregisters (sets `stopped_at`, publishes) and releases the lock.
    public func run() async {
        let messages = pubsub.subscribe(Self.channel)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.holdLock() }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.refreshLoop() }
            group.addTask { await self.probeLoop() }
            group.addTask {
                for await _ in messages { self.refreshBell.ring() }
            }
            group.addTask { await self.tick(every: self.configuration.pollInterval, self.refreshBell) }
            group.addTask { await self.tick(every: self.configuration.heartbeatInterval, self.heartbeatBell) }
            await waitForCancellation()
            group.cancelAll()
            refreshBell.close()
            heartbeatBell.close()
        }
        // Deregister outside the cancelled context so that the queries run.
        await Task.detached { await self.deregister() }.value
    }

    private func deregister() async {
        do {
            try await store.markReplicaStopped(id: configuration.id)
            try await pubsub.publish(Self.channel, configuration.id.uuidString)
            logger.info("replica deregistered", metadata: ["id": "\(configuration.id)"])
        } catch {
            logger.warning("could not deregister; peers will drop this replica when its lock is released", metadata: ["error": "\(error)"])
        }
        await lockPool.close()
    }

    // MARK: liveness lock

    private func holdLock() async {
        while !Task.isCancelled {
            do {
                try await lockPool.withConnection { connection in
                    var key = state.withLock { $0.lockKey }
                    while !(try await Store.tryReplicaLock(key, on: connection)) {
                        key = Int32.random(in: 1...Int32.max) // another process holds this key: pick another
                    }
                    state.withLock {
                        $0.lockKey = key
                        $0.lockHeld = true
                    }
                    heartbeatBell.ring()
                    while !Task.isCancelled {
                        try await Task.sleep(for: configuration.heartbeatInterval)
                        guard try await Store.holdsReplicaLock(key, on: connection) else {
                            throw PostgresError(.connection, "liveness lock lost")
                        }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                state.withLock { $0.lockHeld = false }
                logger.warning("liveness lock connection lost; re-acquiring", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    // MARK: heartbeat

    private func heartbeatLoop() async {
        for await _ in heartbeatBell.rings {
            await heartbeat()
        }
    }

    private func heartbeat() async {
        do {
            let latency = try await measureDatabaseLatency()
            metrics?.databaseLatency.record(.microseconds(latency))
            let (beat, lockHeld) = state.withLock { state in
                (ReplicaHeartbeat(
                    id: configuration.id, startedAt: startedAt, hostname: configuration.hostname,
                    regionID: configuration.regionID, relayAddress: configuration.relayAddress, version: configuration.version,
                    databaseLatency: latency, error: state.errors.text,
                    heartbeatIntervalMilliseconds: Int32(clamping: configuration.heartbeatInterval.milliseconds),
                    lockKey: state.lockKey
                ), state.lockHeld)
            }
            // Without the lock, peers would not count the row anyway; the lock task rings when it has it.
            guard lockHeld else { return }
            let row = try await store.heartbeat(beat)
            let (databaseErrorCleared, publish) = state.withLock { state in
                state.me = row
                let cleared = !state.errors.database.isEmpty
                state.errors.database = ""
                let text = state.errors.text
                let changed = state.lastPublishedError != text
                if changed { state.lastPublishedError = text }
                return (cleared, changed)
            }
            if databaseErrorCleared {
                logger.notice("database reachable again")
                heartbeatBell.ring() // write the cleared error at once
            }
            if publish { try? await pubsub.publish(Self.channel, configuration.id.uuidString) }
            publishSnapshot()
        } catch {
            // The API shows this; libpq's text (host, port) goes to the log only.
            let text = "Database unreachable"
            let changed = state.withLock { state in
                defer { state.errors.database = text }
                return state.errors.database != text
            }
            if changed {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                publishSnapshot()
            }
        }
    }

    /// The median of three `SELECT 1` round trips on the pool, in microseconds.
    private func measureDatabaseLatency() async throws -> Int32 {
        var samples: [Duration] = []
        let clock = ContinuousClock()
        for _ in 0..<3 {
            let start = clock.now
            try await store.ping()
            samples.append(clock.now - start)
        }
        let median = samples.sorted()[1]
        return Int32(clamping: median.components.seconds * 1_000_000 + median.components.attoseconds / 1_000_000_000_000)
    }

    // MARK: the live set

    private func refreshLoop() async {
        for await _ in refreshBell.rings {
            await refresh()
        }
    }

    private func refresh() async {
        let pubsubError: String
        switch pubsub.selfTest.health {
        case .broken(let reason): pubsubError = reason
        default: pubsubError = ""
        }
        let pubsubChanged = state.withLock { state in
            defer { state.errors.pubsub = pubsubError }
            return state.errors.pubsub != pubsubError
        }
        if pubsubChanged {
            if pubsubError.isEmpty { logger.notice("pubsub works again") } else { logger.error("\(pubsubError)") }
            heartbeatBell.ring()
        }
        do {
            let live = try await store.liveReplicas()
            state.withLock { $0.databaseReplicas = live }
        } catch {
            // Keep the last known set; our own entry says the database is unreachable.
        }
        publishSnapshot()
    }

    /// Recomputes the snapshot and tells subscribers if anything shown changed.
    private func publishSnapshot() {
        let (changed, subscribers) = state.withLock { state -> (ReplicaSnapshot?, [AsyncStream<ReplicaSnapshot>.Continuation]) in
            var me = state.me
            me.error = state.errors.text
            let replicas = ReplicaSnapshot.merge(database: state.databaseReplicas, me: me)
            guard replicas.map(Shown.init) != state.snapshot.replicas.map(Shown.init) else { return (nil, []) }
            state.snapshot = ReplicaSnapshot(generation: state.snapshot.generation + 1, replicas: replicas)
            return (state.snapshot, Array(state.subscribers.values))
        }
        if let changed {
            for subscriber in subscribers { subscriber.yield(changed) }
        }
    }

    /// The fields `/replicas` shows, minus the ones that move at every heartbeat.
    private struct Shown: Equatable {
        let id: UUID, hostname: String, regionID: Int32, relayAddress: String, error: String, version: String, createdAt: Date
        let latencyBucket: Int32
        init(_ replica: Replica) {
            id = replica.id
            hostname = replica.hostname
            regionID = replica.regionID
            relayAddress = replica.relayAddress
            error = replica.error
            version = replica.version
            createdAt = replica.createdAt
            // Latency jitters by microseconds; refresh the shown value when it moves by >25%.
            latencyBucket = replica.databaseLatency <= 0 ? 0 : Int32(log(Double(replica.databaseLatency)) / log(1.25))
        }
    }

    // MARK: relay probes

    private func probeLoop() async {
        let prober = RelayProber(timeout: configuration.probeTimeout)
        while !Task.isCancelled {
            let peers = state.withLock { state in
                state.snapshot.replicas.filter {
                    $0.id != configuration.id && $0.regionID == configuration.regionID && !$0.relayAddress.isEmpty
                }
            }
            let failures = await prober.probe(peers)
            if !failures.isEmpty { metrics?.replicaProbeFailures.increment(by: Int64(failures.count)) }
            let text = ReplicaErrors.relayText(failures: failures)
            let changed = state.withLock { state in
                defer { state.errors.relay = text }
                return state.errors.relay != text
            }
            if changed {
                if text.isEmpty { logger.notice("every peer relay answers again") } else { logger.warning("\(text)") }
                heartbeatBell.ring()
                publishSnapshot()
            }
            try? await Task.sleep(for: max(configuration.heartbeatInterval, .seconds(1)))
        }
    }

    private func tick(every interval: Duration, _ bell: Doorbell) async {
        while !Task.isCancelled {
            bell.ring()
            try? await Task.sleep(for: interval)
        }
    }
}

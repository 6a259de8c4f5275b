import Foundation
import Logging
import Pubsub
import Store
import Synchronization
import WireFormat

/// This replica's entitlements, held in memory and never read from the database on a request.
///
/// Recomputed (`Entitlements.compute` over the stored licenses, the active user count and the
/// live replicas) on every `licenses` message from any replica, when the live replica set
/// changes, when a replica becomes old enough to count for the HA check, when a license starts,
/// enters its grace period or ends, and every `refreshInterval` (for the expiry warnings' days).
/// Any number of reasons while a computation runs become one more computation.
public final class LiveEntitlements: Sendable {
    public struct Configuration: Sendable {
        /// What the deployment's configuration switches on (see `FeatureName`).
        public var enablements: [FeatureName: Bool]
        /// Replicas younger than this do not count for the HA check.
        public var haGrace: TimeInterval
        public var externalAuthCount: Int
        public var refreshInterval: TimeInterval
        /// After a computation fails (the database is away), the next try waits this long.
        public var retryInterval: TimeInterval

        public init(
            enablements: [FeatureName: Bool], haGrace: TimeInterval = 60, externalAuthCount: Int = 0,
            refreshInterval: TimeInterval = 600, retryInterval: TimeInterval = 1
        ) {
            self.enablements = enablements
            self.haGrace = haGrace
            self.externalAuthCount = externalAuthCount
            self.refreshInterval = refreshInterval
            self.retryInterval = retryInterval
        }
    }

    /// The last computed entitlements and their JSON, encoded once per computation.
    public struct Snapshot: Sendable {
        public let entitlements: Entitlements
        public let json: [UInt8]
        /// Grows with every computation that is kept.
        public let generation: UInt64
    }

    /// What a computation keeps: the generation is the `LiveValue`'s.
    private struct Computed: Sendable {
        let entitlements: Entitlements
        let json: [UInt8]
    }

    private struct State {
        var replicaStartTimes: [Date] = []
        var wakeTimer: Task<Void, Never>?
    }

    public let configuration: Configuration
    public let verifier: LicenseVerifier
    private let store: Store
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let state = Mutex(State())
    private let live: LiveValue<Computed>

    public init(
        configuration: Configuration, verifier: LicenseVerifier, store: Store,
        now: @escaping @Sendable () -> Date = Date.init, logger: Logger = Logger(label: "entitlements")
    ) {
        self.configuration = configuration
        self.verifier = verifier
        self.store = store
        self.now = now
        self.logger = logger
        let empty = Entitlements.compute(licenses: [], activeUserCount: 0, replicaCount: 1, enablements: configuration.enablements, now: now())
        self.live = LiveValue(Computed(entitlements: empty, json: (try? WireJSON.encode(empty)) ?? []))
    }

    public var snapshot: Snapshot {
        let (computed, generation) = live.currentWithGeneration
        return Snapshot(entitlements: computed.entitlements, json: computed.json, generation: generation)
    }
    public var current: Entitlements { snapshot.entitlements }

    /// Whether `feature` is on: entitled (or in grace) and switched on.
    public func isEnabled(_ feature: FeatureName) -> Bool { current[feature].enabled }

    /// Recomputes now and keeps the result (unless a computation started later was kept first).
    @discardableResult
    public func refresh() async throws -> Entitlements {
        var wakeAt = Date.distantFuture
        let read = try await live.reload {
            let at = now()
            let (stored, activeUsers) = try await store.entitlementInputs(at: at)
            let standings = stored.compactMap { verifier.standing(of: $0.jwt, uuid: $0.uuid, now: at) }
            let startTimes = state.withLock { $0.replicaStartTimes }
            let replicas = HAReplicaCount(startTimes: startTimes, grace: configuration.haGrace, now: at)
            let computed = Entitlements.compute(
                licenses: standings, activeUserCount: activeUsers, replicaCount: replicas.count,
                externalAuthCount: configuration.externalAuthCount, enablements: configuration.enablements, now: at
            )
            let json = try WireJSON.encode(computed)
            let nextChange = ([replicas.changesAt] + standings.map { $0.nextChange(after: at) }).compactMap { $0 }.min()
            wakeAt = min(nextChange ?? .distantFuture, at.addingTimeInterval(configuration.refreshInterval))
            return Computed(entitlements: computed, json: json)
        }
        schedule(wakeAt: wakeAt)
        return read.entitlements
    }

    /// The start times of the live replicas (this one included); a change recomputes.
    public func replicasChanged(startTimes: [Date]) {
        let changed = state.withLock { state in
            defer { state.replicaStartTimes = startTimes }
            return state.replicaStartTimes != startTimes
        }
        if changed { live.reloadSoon() }
    }

    /// Asks for a recomputation soon (several asks while one runs become one).
    public func refreshSoon() { live.reloadSoon() }

    /// Recomputes on every reason until cancelled: `licenses` messages (and resyncs, after
    /// which anything may have changed), `replicasChanged`, and the timers `refresh` sets.
    public func run(pubsub: Pubsub) async {
        await live.run(
            pubsub: pubsub, channel: Store.licensesChannel,
            retry: .arranged { self.schedule(wakeAt: self.now().addingTimeInterval(self.configuration.retryInterval)) },
            logger: logger, failureMessage: "recomputing entitlements failed; keeping the last ones"
        ) {
            _ = try await self.refresh()
        }
        state.withLock { $0.wakeTimer?.cancel() }
    }

    /// One timer at a time: the next computation's own deadline replaces this one.
    private func schedule(wakeAt date: Date) {
        let delay = max(0, date.timeIntervalSince(now()))
        // Far-off deadlines (a license ending next year) are left to the next computation.
        guard delay < configuration.refreshInterval * 2 else { return }
        let timer = Task { [live] in
            guard (try? await Task.sleep(for: .milliseconds(Int64(delay * 1000) + 1))) != nil else { return }
            live.reloadSoon()
        }
        state.withLock { state in
            state.wakeTimer?.cancel()
            state.wakeTimer = timer
        }
    }
}

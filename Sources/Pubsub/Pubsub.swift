import Foundation
import Logging
import Postgres
import Synchronization
import Telemetry

/// What a subscriber of one channel receives.
public enum PubsubEvent: Sendable, Equatable {
    case message(String)
    /// Messages may have been lost (the database connection was re-established, or this subscriber
    /// fell behind): re-read from the database whatever state the channel announces.
    case resync
}

/// Channels over PostgreSQL LISTEN/NOTIFY. One `Listener` connection per process fans out to any
/// number of subscribers, each with a bounded queue that keeps order. NOTIFY is a latency hint:
/// consumers also keep a slow backup poll, because the database, not the message, is the truth.
public final class Pubsub: Sendable {
    private struct Subscribers {
        var byChannel: [String: [UInt64: AsyncStream<PubsubEvent>.Continuation]] = [:]
        var nextID: UInt64 = 0
        /// The listener's first connection also starts with a resync; only later ones are reconnects.
        var connectedBefore = false
    }

    private let listener: Listener
    private let pool: DatabasePool
    private let logger: Logger
    private let subscribers = Mutex(Subscribers())
    public let selfTest: PubsubSelfTest

    private let metrics: CoordinatorMetrics?

    /// `clock` times the self-test's probes and verdicts; `metrics` counts round trips and resyncs.
    public init<C: Clock<Duration>>(
        listener: Listener, pool: DatabasePool, selfTest: PubsubSelfTest.Configuration = .init(), clock: C = ContinuousClock(),
        metrics: CoordinatorMetrics? = nil, logger: Logger = Logger(label: "pubsub")
    ) {
        self.listener = listener
        self.pool = pool
        self.logger = logger
        self.metrics = metrics
        self.selfTest = PubsubSelfTest(configuration: selfTest, clock: clock, metrics: metrics)
        metrics?.addCollector { [weak self] in
            metrics?.pubsubConnected.set(to: (self?.isConnected ?? false) ? 1 : 0)
        }
    }

    /// Sends `payload` to every subscriber of `channel` in every process (through `pg_notify`).
    public func publish(_ channel: String, _ payload: String = "") async throws {
        try await pool.notify(channel, payload)
    }

    /// Every message on `channel` from now on, plus `.resync` whenever some may have been missed.
    /// A subscriber more than `bufferSize` messages behind loses the oldest and gets a `.resync`.
    public func subscribe(_ channel: String, bufferSize: Int = 1024) -> AsyncStream<PubsubEvent> {
        let (stream, continuation) = AsyncStream<PubsubEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        let id = subscribers.withLock { state in
            state.nextID += 1
            state.byChannel[channel, default: [:]][state.nextID] = continuation
            return state.nextID
        }
        listener.listen(channel)
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { state in
                state.byChannel[channel]?.removeValue(forKey: id)
                if state.byChannel[channel]?.isEmpty == true { state.byChannel[channel] = nil }
            }
        }
        return stream
    }

    /// Fans listener events out to subscribers and runs the self-test, until cancelled.
    public func run() async {
        let events = listener.subscribe(bufferSize: 16_384)
        listener.listen(selfTest.channel)
        listener.start()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.selfTest.run(publish: { try await self.publish(self.selfTest.channel, $0) }) }
            group.addTask {
                for await event in events {
                    self.deliver(event)
                }
            }
            await withTaskCancellationHandler {
                try? await Task.sleep(for: .seconds(Int64.max / 2))
            } onCancel: {
                Task { await self.listener.stop() }
            }
            group.cancelAll()
        }
        finishAll()
    }

    private func deliver(_ event: ListenerEvent) {
        switch event {
        case .resync:
            let (all, reconnect) = subscribers.withLock { state in
                defer { state.connectedBefore = true }
                return (state.byChannel.values.flatMap(\.values), state.connectedBefore)
            }
            for continuation in all { continuation.yield(.resync) }
            if reconnect { metrics?.pubsubResync(reason: "reconnect") }
            selfTest.connectionRestored()
        case .notification(let channel, let payload):
            if channel == selfTest.channel {
                selfTest.received(payload)
                return
            }
            let targets = subscribers.withLock { Array(($0.byChannel[channel] ?? [:]).values) }
            for continuation in targets {
                if case .dropped = continuation.yield(.message(payload)) {
                    continuation.yield(.resync)
                    metrics?.pubsubResync(reason: "overflow")
                }
            }
        }
    }

    private func finishAll() {
        let all = subscribers.withLock { state in
            defer { state.byChannel.removeAll() }
            return state.byChannel.values.flatMap(\.values)
        }
        for continuation in all { continuation.finish() }
    }

    public var isConnected: Bool { listener.isConnected }
}

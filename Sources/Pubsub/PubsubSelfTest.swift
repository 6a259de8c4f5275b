import Foundation
import Postgres
import Synchronization
import Telemetry

/// Proves that NOTIFY still reaches us: every `interval` it publishes a nonce on a channel of its
/// own and waits for it. When no round trip completes within `bound`, pubsub is reported broken,
/// instead of going deaf silently (a PgBouncer in transaction mode drops LISTEN, Coder #11950).
public final class PubsubSelfTest: Sendable {
    public struct Configuration: Sendable {
        public var interval: Duration
        public var bound: Duration
        public init(interval: Duration = .seconds(2), bound: Duration = .seconds(5)) {
            self.interval = interval
            self.bound = bound
        }
    }

    public enum Health: Sendable, Equatable {
        case healthy(roundTrip: Duration)
        /// Nothing measured yet.
        case starting
        case broken(String)
    }

    /// Instants are times since the clock's reading at `init`, so that any clock fits.
    private struct State {
        var outstanding: [String: Duration] = [:]
        var lastSuccess: Duration?
        var lastRoundTrip: Duration?
        var started = Duration.zero
        var publishError: String?
    }

    public let configuration: Configuration
    public let channel = "coordinator_pubsub_selftest_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    private let state = Mutex(State())
    /// The clock every rule reads and the probe loop sleeps on: injected so that tests move time
    /// instead of waiting for it.
    private let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void
    private let metrics: CoordinatorMetrics?

    init<C: Clock<Duration>>(configuration: Configuration, clock: C, metrics: CoordinatorMetrics? = nil) {
        self.configuration = configuration
        self.metrics = metrics
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleep = { try await clock.sleep(until: clock.now.advanced(by: $0), tolerance: nil) }
    }

    /// Current verdict: broken if the last success (or the start) is older than `bound` while
    /// probes were outstanding.
    public var health: Health {
        state.withLock { state in
            let now = self.now()
            let since = state.lastSuccess ?? state.started
            if now - since > configuration.bound + configuration.interval {
                if let error = state.publishError { return .broken("pubsub is not working: cannot publish: \(error)") }
                return .broken("pubsub is not working: no NOTIFY round trip in \(Self.format(now - since))")
            }
            if let roundTrip = state.lastRoundTrip { return .healthy(roundTrip: roundTrip) }
            return .starting
        }
    }

    public var isBroken: Bool {
        if case .broken = health { return true }
        return false
    }

    func run(publish: @Sendable (String) async throws -> Void) async {
        while !Task.isCancelled {
            let nonce = UUID().uuidString
            state.withLock { state in
                // Forget probes older than the bound: their answer would not count any more.
                let now = self.now()
                state.outstanding = state.outstanding.filter { now - $0.value < configuration.bound }
                state.outstanding[nonce] = now
            }
            do {
                try await publish(nonce)
                state.withLock { $0.publishError = nil }
            } catch {
                // Shown by /healthz and /replicas: the kind of failure, never libpq's text (host, port).
                let kind = (error as? PostgresError)?.isUnavailable == true ? "database unreachable" : "the NOTIFY failed"
                state.withLock { $0.publishError = kind }
            }
            try? await sleep(configuration.interval)
        }
    }

    func received(_ nonce: String) {
        let roundTrip = state.withLock { state -> Duration? in
            guard let sent = state.outstanding.removeValue(forKey: nonce) else { return nil }
            let now = self.now()
            state.lastRoundTrip = now - sent
            state.lastSuccess = now
            return now - sent
        }
        if let roundTrip { metrics?.pubsubRoundTrip.record(roundTrip) }
    }

    /// After a reconnect, give the new connection a full bound before judging it.
    func connectionRestored() {
        state.withLock { state in
            if state.lastSuccess == nil { state.started = self.now() }
        }
    }

    static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return ms >= 1000 ? String(format: "%.1fs", Double(ms) / 1000) : "\(ms)ms"
    }
}

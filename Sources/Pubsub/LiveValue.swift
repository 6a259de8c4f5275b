import Logging
import Support
import Synchronization

/// A value held in memory on every replica and re-read when a pubsub channel says it changed
/// (and after a resync, when messages may have been lost): what `LiveAppearance` and
/// `LiveEntitlements` are made of.
///
/// Each message rings a doorbell, so any number of messages while a read runs become one more
/// read. Each read takes a ticket: one started earlier that finishes later is dropped, so a slow
/// read never replaces a newer one. Every read that is kept grows the generation, so that a reader
/// can cache what it derives.
public final class LiveValue<Value: Sendable>: Sendable {
    /// What `run` does after a failed read (the database is away), once it has logged it.
    public enum Retry: Sendable {
        /// Waits this long (rings meanwhile become one), then reads again.
        case after(Duration)
        /// Calls this, which arranges the next read itself (`reloadSoon` from a timer of the
        /// owner's, which a later read may replace); the loop goes on at once.
        case arranged(@Sendable () -> Void)
    }

    private struct State {
        var value: Value
        var generation: UInt64 = 0
        /// The read started last that has been kept: an older one finishing late is dropped.
        var keptTicket: UInt64 = 0
        var nextTicket: UInt64 = 0
    }

    private let state: Mutex<State>
    private let bell = Doorbell()

    /// `initial` is the value until the first read is kept, at generation 0.
    public init(_ initial: Value) {
        state = Mutex(State(value: initial))
    }

    public var current: Value { state.withLock { $0.value } }

    /// With the generation, which grows with every read that is kept.
    public var currentWithGeneration: (value: Value, generation: UInt64) {
        state.withLock { ($0.value, $0.generation) }
    }

    /// Reads with `read` now and keeps the result, unless a read started later was kept first;
    /// returns what was read either way.
    @discardableResult
    public func reload(_ read: () async throws -> Value) async throws -> Value {
        let ticket = state.withLock { state -> UInt64 in
            state.nextTicket += 1
            return state.nextTicket
        }
        let value = try await read()
        state.withLock { state in
            guard ticket > state.keptTicket else { return }
            state.keptTicket = ticket
            state.value = value
            state.generation += 1
        }
        return value
    }

    /// Asks `run` for a read soon (several asks while one runs become one).
    public func reloadSoon() { bell.ring() }

    /// Until cancelled: every message on `channel` (and every `reloadSoon`) calls `reload`, the
    /// owner's read (which goes through `reload(_:)`); after it fails, logs `failureMessage` at
    /// warning with the error and retries as `retry` says.
    public func run(
        pubsub: Pubsub, channel: String, retry: Retry, logger: Logger, failureMessage: String,
        reload reloadNow: @escaping @Sendable () async throws -> Void
    ) async {
        let messages = pubsub.subscribe(channel, bufferSize: 1)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in messages { self.bell.ring() }
            }
            group.addTask {
                for await _ in self.bell.rings {
                    do {
                        try await reloadNow()
                    } catch {
                        if Task.isCancelled { return }
                        logger.warning("\(failureMessage)", metadata: ["error": "\(error)"])
                        switch retry {
                        case .after(let interval):
                            try? await Task.sleep(for: interval)
                            self.bell.ring()
                        case .arranged(let arrange):
                            arrange()
                        }
                    }
                }
            }
            await waitForCancellation()
            group.cancelAll()
            bell.close()
        }
    }
}

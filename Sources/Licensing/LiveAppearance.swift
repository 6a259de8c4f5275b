import Foundation
import Logging
import Pubsub
import Store
import Synchronization

/// The deployment's appearance, held in memory on every replica: a GET never queries. A change
/// on any replica is announced on `Store.appearanceChannel` and each replica re-reads the row;
/// after a resync (messages may have been lost) it re-reads too.
public final class LiveAppearance: Sendable {
    private let store: Store
    private let logger: Logger
    private struct State {
        var appearance = Appearance.unset
        var generation: UInt64 = 0
        /// The read started last that has been kept: an older one finishing late is dropped.
        var keptTicket: UInt64 = 0
        var nextTicket: UInt64 = 0
    }

    private let state = Mutex(State())
    private let bell = Doorbell()
    /// After a failed read (the database is away), the next try waits this long.
    private let retryInterval: Duration

    public init(store: Store, retryInterval: Duration = .seconds(1), logger: Logger = Logger(label: "appearance")) {
        self.store = store
        self.retryInterval = retryInterval
        self.logger = logger
    }

    public var current: Appearance { state.withLock { $0.appearance } }

    /// With the generation, which grows with every read that is kept, so that a reader can
    /// cache what it derives.
    public var currentWithGeneration: (appearance: Appearance, generation: UInt64) {
        state.withLock { ($0.appearance, $0.generation) }
    }

    /// Reads the stored appearance now.
    @discardableResult
    public func reload() async throws -> Appearance {
        let ticket = state.withLock { state -> UInt64 in
            state.nextTicket += 1
            return state.nextTicket
        }
        let appearance = try await store.appearance()
        state.withLock { state in
            guard ticket > state.keptTicket else { return }
            state.keptTicket = ticket
            state.appearance = appearance
            state.generation += 1
        }
        return appearance
    }

    public func run(pubsub: Pubsub) async {
        let messages = pubsub.subscribe(Store.appearanceChannel, bufferSize: 1)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in messages { self.bell.ring() }
            }
            group.addTask {
                for await _ in self.bell.rings {
                    do {
                        try await self.reload()
                    } catch {
                        if Task.isCancelled { return }
                        self.logger.warning("reading the appearance failed; keeping the last one", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: self.retryInterval)
                        self.bell.ring()
                    }
                }
            }
            await waitForCancellation()
            group.cancelAll()
            bell.close()
        }
    }
}

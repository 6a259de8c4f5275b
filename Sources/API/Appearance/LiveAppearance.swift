import Logging
import Pubsub
import Store

/// The deployment's appearance, held in memory on every replica: a GET never queries. A change
/// on any replica is announced on `Store.appearanceChannel` and each replica re-reads the row;
/// after a resync (messages may have been lost) it re-reads too. A `LiveValue` of the row.
public final class LiveAppearance: Sendable {
    private let store: Store
    private let logger: Logger
    private let live = LiveValue(Appearance.unset)
    /// After a failed read (the database is away), the next try waits this long.
    private let retryInterval: Duration

    public init(store: Store, retryInterval: Duration = .seconds(1), logger: Logger = Logger(label: "appearance")) {
        self.store = store
        self.retryInterval = retryInterval
        self.logger = logger
    }

    public var current: Appearance { live.current }

    /// With the generation, which grows with every read that is kept, so that a reader can
    /// cache what it derives.
    public var currentWithGeneration: (appearance: Appearance, generation: UInt64) {
        let (appearance, generation) = live.currentWithGeneration
        return (appearance, generation)
    }

    /// Reads the stored appearance now.
    @discardableResult
    public func reload() async throws -> Appearance {
        try await live.reload { try await store.appearance() }
    }

    public func run(pubsub: Pubsub) async {
        await live.run(
            pubsub: pubsub, channel: Store.appearanceChannel, retry: .after(retryInterval), logger: logger,
            failureMessage: "reading the appearance failed; keeping the last one"
        ) {
            _ = try await self.reload()
        }
    }
}

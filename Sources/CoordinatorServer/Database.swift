import Foundation
import Logging
import Postgres
import Store
import Support

/// The database of a replica, opened from a URL or as the embedded cluster, which it starts.
/// An unreachable database (restarting, failing over) is waited for, up to the connect timeout,
/// with one log line per attempt; a URL that cannot work fails at once, with one line naming why.
public struct Database: Sendable {
    public struct Configuration: Sendable {
        public enum Source: Sendable, Equatable {
            /// A PostgreSQL URL or libpq connection string.
            case url(String)
            /// The embedded cluster, kept in `dataDirectory` (created on first use).
            case embedded(dataDirectory: String)
        }

        public var source: Source
        /// Maximum connections the pool opens.
        public var poolSize: Int
        /// At start, how long an unreachable database is waited for.
        public var connectTimeout: Duration

        public init(source: Source, poolSize: Int = 10, connectTimeout: Duration = .seconds(60)) {
            self.source = source
            self.poolSize = poolSize
            self.connectTimeout = connectTimeout
        }
    }

    public let store: Store
    public let embedded: EmbeddedPostgres?
    public let connectionString: String

    /// `observePoolWait` is told how long each query waited for one of the pool's connections.
    public static func open(_ configuration: Configuration, observePoolWait: (@Sendable (Duration) -> Void)? = nil, logger: Logger) async throws -> Database {
        var embedded: EmbeddedPostgres?
        let connectionString: String
        switch configuration.source {
        case .url(let url):
            connectionString = url
        case .embedded(let dataDirectory):
            let cluster = try EmbeddedPostgres(dataDirectory: dataDirectory, logger: logger)
            try cluster.start()
            embedded = cluster
            connectionString = cluster.connectionString
        }
        let pool = DatabasePool(.init(connectionString: connectionString, maximumConnections: configuration.poolSize, observeWait: observePoolWait), logger: logger)
        do {
            try await waitForDatabase(pool, timeout: configuration.connectTimeout, logger: logger)
        } catch {
            await pool.close()
            if let embedded { stop(embedded, logger: logger) }
            throw error
        }
        return Database(store: Store(pool: pool), embedded: embedded, connectionString: connectionString)
    }

    /// Tries to connect until it works, the error says retrying is pointless, or `timeout` passes;
    /// the pause between attempts doubles from 250 ms up to 5 s.
    private static func waitForDatabase(_ pool: DatabasePool, timeout: Duration, logger: Logger) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(250)
        var attempt = 1
        while true {
            do {
                try await pool.check()
                if attempt > 1 { logger.notice("connected to the database", metadata: ["attempts": "\(attempt)"]) }
                return
            } catch let error as PostgresError where !error.isPermanentConnectionFailure {
                let remaining = deadline - clock.now
                guard remaining > .zero else {
                    throw StartupError("cannot connect to the database within \(timeout) (\(attempt) attempts): \(oneLine(error))")
                }
                let wait = min(pause, remaining)
                logger.warning("database unreachable; retrying", metadata: [
                    "attempt": "\(attempt)", "retry_in": "\(wait)", "error": "\(oneLine(error))",
                ])
                try await Task.sleep(for: wait)
                pause = min(pause * 2, .seconds(5))
                attempt += 1
            } catch {
                throw StartupError("cannot connect to the database: \(oneLine(error))")
            }
        }
    }

    public func close(logger: Logger) async {
        await store.pool.close()
        if let embedded { Self.stop(embedded, logger: logger) }
    }

    private static func stop(_ embedded: EmbeddedPostgres, logger: Logger) {
        do { try embedded.stop() } catch { logger.error("stopping the embedded PostgreSQL failed: \(error)") }
    }
}

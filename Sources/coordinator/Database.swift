import Foundation
import Logging
import Postgres
import Store

/// Opens the database the options point at, starting the embedded cluster when there is no URL.
/// An unreachable database (restarting, failing over) is waited for, up to the connect timeout,
/// with one log line per attempt; a URL that cannot work fails at once, with one line naming why.
struct Database {
    let store: Store
    let embedded: EmbeddedPostgres?
    let connectionString: String

    static func open(_ options: DatabaseOptions, logger: Logger) async throws -> Database {
        var embedded: EmbeddedPostgres?
        let connectionString: String
        if let url = try options.postgresURL {
            connectionString = url
        } else {
            let cluster = try EmbeddedPostgres(dataDirectory: options.dataDirectory, logger: logger)
            try cluster.start()
            embedded = cluster
            connectionString = cluster.connectionString
        }
        let pool = DatabasePool(.init(connectionString: connectionString, maximumConnections: try options.poolSize), logger: logger)
        do {
            try await waitForDatabase(pool, timeout: try options.connectTimeout, logger: logger)
        } catch {
            await pool.close()
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

    func close(logger: Logger) async {
        await store.pool.close()
        if let embedded {
            do { try embedded.stop() } catch { logger.error("stopping the embedded PostgreSQL failed: \(error)") }
        }
    }
}

/// A failure at start that the user can act on; printed as one line.
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}


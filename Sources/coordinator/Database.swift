import Foundation
import Logging
import Postgres
import Store

/// Opens the database the options point at, starting the embedded cluster when there is no URL,
/// and fails with one line naming what is wrong rather than a stack of retries.
struct Database {
    let store: Store
    let embedded: EmbeddedPostgres?
    let connectionString: String

    static func open(_ options: DatabaseOptions, logger: Logger) async throws -> Database {
        var embedded: EmbeddedPostgres?
        let connectionString: String
        if let url = options.postgresURL {
            connectionString = url
        } else {
            let cluster = try EmbeddedPostgres(dataDirectory: options.dataDirectory, logger: logger)
            try cluster.start()
            embedded = cluster
            connectionString = cluster.connectionString
        }
        let pool = DatabasePool(.init(connectionString: connectionString, maximumConnections: try options.poolSize), logger: logger)
        do {
            try await pool.check()
        } catch {
            await pool.close()
            throw StartupError("cannot connect to the database: \(oneLine(error))")
        }
        return Database(store: Store(pool: pool), embedded: embedded, connectionString: connectionString)
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


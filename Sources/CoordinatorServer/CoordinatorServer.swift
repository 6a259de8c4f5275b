import API
import Logging
import NIOCore
import Postgres
import ServiceLifecycle
import Support
import Telemetry

/// One coordinator replica with everything wired: it opens (or starts) the database and migrates
/// it, then runs pubsub, the revocation follower, the job queue, the daemon connections, the
/// reaper, the HTTP application and replica membership as one service group, until a shutdown
/// signal, a graceful shutdown of the service group it runs in, or cancellation.
///
/// The executable only turns flags into a `Configuration` and calls `run()`; a test runs it
/// in-process (port 0, no signals), learns the port from `onServing`, and stops it through its
/// service group or by cancelling it.
public struct CoordinatorServer: Service {
    public let configuration: Configuration
    let logger: Logger
    let onServing: @Sendable (SocketAddress) async -> Void
    let onMetricsServing: @Sendable (SocketAddress) async -> Void

    /// `onServing` is called once the HTTP server listens, with the address it is bound to;
    /// `onMetricsServing` likewise for the metrics listener, when there is one.
    public init(
        configuration: Configuration, logger: Logger, onServing: @escaping @Sendable (SocketAddress) async -> Void = { _ in },
        onMetricsServing: @escaping @Sendable (SocketAddress) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onServing = onServing
        self.onMetricsServing = onMetricsServing
    }

    /// Returns once every service has stopped and the database is closed. Throws a
    /// `StartupError` (one line for the user) when the database cannot be opened or migrated, or
    /// when a service fails.
    public func run() async throws {
        // One registry per replica: a test runs several in one process.
        let metrics = CoordinatorMetrics()
        let database = try await Database.open(configuration.database, observePoolWait: { metrics.databasePoolWait.record($0) }, logger: logger)
        do {
            let applied = try await database.store.migrate(logger: logger)
            if !applied.isEmpty { logger.info("database migrated", metadata: ["applied": "\(applied)"]) }
        } catch {
            await database.close(logger: logger)
            throw StartupError("migrating the database failed: \(oneLine(error))")
        }
        let licensing: LicensingServices
        do {
            licensing = try await makeLicensing(database: database)
        } catch {
            await database.close(logger: logger)
            throw StartupError("reading the licenses failed: \(oneLine(error))")
        }
        let tls: ReloadableTLS?
        do {
            tls = try configuration.tls.map { try ReloadableTLS(certificateFile: $0.certificateFile, keyFile: $0.keyFile) }
        } catch {
            await database.close(logger: logger)
            throw StartupError("reading the TLS certificate or key failed: \(oneLine(error))")
        }
        do {
            try await makeServiceGroup(database: database, licensing: licensing, metrics: metrics, tls: tls).run()
        } catch {
            logger.error("server stopped with an error: \(error)")
            await database.close(logger: logger)
            throw StartupError(oneLine(error))
        }
        await database.close(logger: logger)
        logger.notice("stopped")
    }
}

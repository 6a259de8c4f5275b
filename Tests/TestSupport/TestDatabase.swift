import Foundation
import Logging
import Postgres
import Store

/// A fresh database on the PostgreSQL that scripts/test started, one per test: empty (`create`),
/// or with every migration applied (`createMigrated`).
public struct TestDatabase: Sendable {
    public static var serverURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["COORDINATOR_TEST_DATABASE_URL"] else {
                throw TestSetupError("COORDINATOR_TEST_DATABASE_URL is not set: run the tests through scripts/test")
            }
            return url
        }
    }

    public let name: String
    public let url: String

    /// An empty database: for tests of migrating, and of what runs before or without a schema.
    public static func create() async throws -> TestDatabase {
        try await create(copying: nil)
    }

    /// A database with every migration applied, as `Store.migrate` leaves one (schema_migrations
    /// and its checksums included, so a server started on it migrates nothing): a copy of a
    /// template this process migrated once, which costs a file copy instead of every migration.
    /// Not for tests of migrating, nor of what migrating logs.
    public static func createMigrated() async throws -> TestDatabase {
        try await create(copying: try await migratedTemplate.value)
    }

    private static func create(copying template: String?) async throws -> TestDatabase {
        let server = try serverURL
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try await admin("CREATE DATABASE \(name)" + (template.map { " TEMPLATE \($0)" } ?? ""))
        return TestDatabase(name: name, url: url(of: name, on: server))
    }

    private static func url(of name: String, on server: String) -> String {
        "\(server[..<server.lastIndex(of: "/")!])/\(name)"
    }

    /// The migrated template's name. Made by the first `createMigrated` of the process, which the
    /// others (however many at once) wait for; a failure is every caller's. Detached: it belongs
    /// to no one test. Left in place at exit, as the test databases are: scripts/test removes
    /// the whole cluster.
    private static let migratedTemplate: Task<String, any Error> = Task.detached {
        try await TestDatabase.makeMigratedTemplate()
    }

    /// Creates `tmpl_<uuid>` (one per process: test processes sharing the cluster each have
    /// theirs), migrates it, and closes every connection to it before anyone copies it:
    /// `CREATE DATABASE … TEMPLATE` refuses a source that has sessions (after waiting a few
    /// seconds for them to end). Then nothing may connect to it again (`ALLOW_CONNECTIONS false`),
    /// and it is marked a template; copies, which may run at the same time, get neither mark.
    private static func makeMigratedTemplate() async throws -> String {
        let server = try serverURL
        let name = "tmpl_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try await admin("CREATE DATABASE \(name)")
        var logger = Logger(label: "test.template")
        logger.logLevel = .warning
        let pool = DatabasePool(.init(connectionString: url(of: name, on: server), maximumConnections: 1))
        do {
            _ = try await Store(pool: pool).migrate(logger: logger)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
        _ = try await admin("ALTER DATABASE \(name) WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        return name
    }

    /// Runs a statement on a separate administrative connection (to kill backends, for instance).
    @discardableResult
    public static func admin(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        let admin = DatabasePool(.init(connectionString: try serverURL, maximumConnections: 1))
        do {
            let result = try await admin.query(sql, parameters)
            await admin.close()
            return result
        } catch {
            await admin.close()
            throw error
        }
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Waits for `condition` with a generous deadline; tests wait for events, they do not time them.
public func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestSetupError("timed out waiting for \(what)")
}

/// Runs `body` with a pool and closes the pool once `body` returns or throws, before the test
/// goes on: no pool outlives its test (a `defer { Task { … close() } }` would close it later, or never).
public func withPool<T>(_ configuration: DatabasePool.Configuration, _ body: (DatabasePool) async throws -> T) async throws -> T {
    try await scoped(DatabasePool(configuration), close: { await $0.close() }, body)
}

/// Runs `body` with a listener and stops it once `body` returns or throws.
public func withListener<T>(_ configuration: Listener.Configuration, _ body: (Listener) async throws -> T) async throws -> T {
    try await scoped(Listener(configuration), close: { await $0.stop() }, body)
}

private func scoped<Resource, T>(_ resource: Resource, close: (Resource) async -> Void, _ body: (Resource) async throws -> T) async throws -> T {
    do {
        let result = try await body(resource)
        await close(resource)
        return result
    } catch {
        await close(resource)
        throw error
    }
}

/// Waits until a query of the test database `name` whose text contains `text` is running.
public func waitForQuery(in name: String, containing text: String, pid: Int32? = nil) async throws {
    try await eventually("a query containing \(text) running") {
        let rows = try await TestDatabase.admin(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND position($2 in query) > 0 AND ($3::int IS NULL OR pid = $3)",
            [name, text, pid]
        )
        return try rows.first?.decode(0, as: Int.self) ?? 0 > 0
    }
}

import Logging

/// One schema change. `version`s order the migrations; each runs in its own transaction.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

public struct MigrationStatus: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let appliedAt: String?
}

/// Applies migrations under a session-level advisory lock, so that replicas starting together take
/// turns: the first applies, the others find nothing left to do.
public struct Migrator: Sendable {
    /// An arbitrary constant shared by every replica: "coordinator migrations" as a 64-bit key.
    static let lockKey: Int64 = 0x636F_6F72_6D69_6772

    let pool: DatabasePool
    let migrations: [Migration]
    let logger: Logger

    public init(pool: DatabasePool, migrations: [Migration], logger: Logger = Logger(label: "postgres.migrate")) {
        precondition(Set(migrations.map(\.version)).count == migrations.count, "duplicate migration versions")
        self.pool = pool
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Applies every pending migration; returns the versions it applied.
    @discardableResult
    public func up() async throws -> [Int] {
        let migrations = self.migrations
        let logger = self.logger
        return try await pool.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
            do {
                try await Self.createTable(connection)
                let applied = try await Self.appliedVersions(connection)
                var done: [Int] = []
                for migration in migrations where !applied.contains(migration.version) {
                    try await connection.withTransaction { connection in
                        try connection.execute(migration.sql)
                        try connection.query(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            [migration.version, migration.name]
                        )
                    }
                    logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                    done.append(migration.version)
                }
                try await connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey])
                return done
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey])
                throw error
            }
        }
    }

    /// Every known migration with the time it was applied, or nil if pending.
    public func status() async throws -> [MigrationStatus] {
        let migrations = self.migrations
        return try await pool.withConnection { connection in
            try await Self.createTable(connection)
            let rows = try await connection.query("SELECT version, applied_at::text FROM schema_migrations").rows
            var applied: [Int: String] = [:]
            for row in rows { applied[try row.decode(0)] = row[1] }
            return migrations.map { MigrationStatus(version: $0.version, name: $0.name, appliedAt: applied[$0.version]) }
        }
    }

    private static func createTable(_ connection: DatabaseConnection) async throws {
        // IF NOT EXISTS alone races between sessions; the advisory lock (in `up`) or a retry covers it.
        do {
            try await connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version bigint PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
        } catch let error as PostgresError where error.isUniqueViolation {
            // Another session created it at the same moment.
        }
    }

    private static func appliedVersions(_ connection: DatabaseConnection) async throws -> Set<Int> {
        Set(try await connection.query("SELECT version FROM schema_migrations").rows.map { try $0.decode(0, as: Int.self) })
    }
}

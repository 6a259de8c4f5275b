import Crypto
import Foundation
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

    /// SHA-256 of the SQL, in hex: recorded when the migration is applied, so that a later edit
    /// of an applied migration (which would never run again) is noticed instead of ignored.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

public struct MigrationStatus: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let appliedAt: String?
}

/// An applied migration whose SQL is not what was applied: the database and the code disagree on
/// the schema, and applying anything on top would build on a guess.
public struct MigrationChangedError: Error, Sendable, Equatable, CustomStringConvertible {
    public let version: Int
    public let name: String
    public let appliedChecksum: String
    public let currentChecksum: String

    public var description: String {
        "migration \(version) (\(name)) was changed after it was applied: the database recorded SHA-256 \(appliedChecksum), "
            + "the code has \(currentChecksum). Restore the applied SQL and put the change in a new migration; nothing was applied."
    }
}

/// Applies migrations under a session-level advisory lock, so that replicas starting together take
/// turns: the first applies, the others find nothing left to do. Before applying anything, every
/// applied migration's recorded checksum is compared with the code's.
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

    /// Applies every pending migration; returns the versions it applied. Throws
    /// `MigrationChangedError` (and applies nothing) if an applied migration was edited since.
    @discardableResult
    public func up() async throws -> [Int] {
        let migrations = self.migrations
        let logger = self.logger
        return try await pool.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
            do {
                try await Self.createTable(connection)
                let applied = try await connection.all(Self.applied)
                try Self.verify(applied, against: migrations)
                // Applied before checksums were recorded: the code's SQL is taken as what ran.
                for migration in migrations where applied.contains(where: { $0.version == migration.version && $0.checksum == nil }) {
                    try await connection.execute(Self.recordChecksum(of: migration))
                }
                var done: [Int] = []
                for migration in migrations where !applied.contains(where: { $0.version == migration.version }) {
                    try await connection.withTransaction { connection in
                        try connection.execute(migration.sql)
                        try connection.execute(Self.recordApplied(migration))
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

    /// Every known migration with the time it was applied, or nil if pending. Throws
    /// `MigrationChangedError` if an applied migration was edited since.
    public func status() async throws -> [MigrationStatus] {
        let migrations = self.migrations
        return try await pool.withConnection { connection in
            try await Self.createTable(connection)
            let applied = try await connection.all(Self.applied)
            try Self.verify(applied, against: migrations)
            return migrations.map { migration in
                MigrationStatus(
                    version: migration.version, name: migration.name,
                    appliedAt: applied.first { $0.version == migration.version }?.appliedAt
                )
            }
        }
    }

    private struct Applied: Sendable {
        var version: Int
        var appliedAt: String
        /// Nil for a migration applied by a version of the code that recorded no checksums.
        var checksum: String?
    }

    private static let applied = PostgresQuery<Applied>(
        "SELECT version, applied_at::text AS applied_at, checksum FROM schema_migrations ORDER BY version"
    ) { row in
        Applied(version: try row.decode("version"), appliedAt: try row.decode("applied_at"), checksum: try row.decode("checksum", as: String?.self))
    }

    private static func recordApplied(_ migration: Migration) -> PostgresQuery<Void> {
        PostgresQuery(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))"
        )
    }

    private static func recordChecksum(of migration: Migration) -> PostgresQuery<Void> {
        PostgresQuery(
            "UPDATE schema_migrations SET checksum = \(migration.checksum) WHERE version = \(migration.version) AND checksum IS NULL"
        )
    }

    /// Refuses the first applied migration whose recorded checksum differs from the code's.
    /// Versions the code does not know (a newer binary applied them) are left alone, as before.
    private static func verify(_ applied: [Applied], against migrations: [Migration]) throws {
        for row in applied {
            guard let recorded = row.checksum, let migration = migrations.first(where: { $0.version == row.version }) else { continue }
            let current = migration.checksum
            if recorded != current {
                throw MigrationChangedError(version: migration.version, name: migration.name, appliedChecksum: recorded, currentChecksum: current)
            }
        }
    }

    private static func createTable(_ connection: DatabaseConnection) async throws {
        // IF NOT EXISTS alone races between sessions; the advisory lock (in `up`) or a retry covers it.
        do {
            try await connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version bigint PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    checksum text
                )
                """)
        } catch let error as PostgresError where error.isUniqueViolation {
            // Another session created it at the same moment.
        }
        // A table made before checksums were recorded gains the column; `up` fills it in. Looked
        // up first, so that a start on an up-to-date table takes no exclusive lock on it.
        guard try await connection.one(hasChecksumColumn) == false else { return }
        do {
            try await connection.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text")
        } catch let error as PostgresError where error.sqlState == "42701" || error.isUniqueViolation {
            // Another session (a `status` outside the lock) added it at the same moment.
        }
    }

    private static let hasChecksumColumn = PostgresQuery<Bool>(
        """
        SELECT EXISTS (SELECT 1 FROM pg_attribute
                       WHERE attrelid = 'schema_migrations'::regclass AND attname = 'checksum' AND NOT attisdropped) AS present
        """,
        column: "present"
    )
}

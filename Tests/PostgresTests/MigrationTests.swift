import Foundation
@testable import Postgres
import Testing
import TestSupport

@Suite struct MigrationTests {
    static let migrations = [
        Migration(version: 1, name: "first", sql: "CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1);"),
        Migration(version: 2, name: "second", sql: "CREATE TABLE b (id int PRIMARY KEY);"),
        Migration(version: 3, name: "third", sql: "INSERT INTO a VALUES (3);"),
    ]

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let db = try await TestDatabase.create()
        let pools = (0..<4).map { _ in DatabasePool(.init(connectionString: db.url, maximumConnections: 1)) }
        // All four start while another session holds the migration lock, and contend for it at
        // once when that session lets go.
        let applied = try await withPool(.init(connectionString: db.url, maximumConnections: 1)) { holder in
            try await holder.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock($1)", [Migrator.lockKey])
                return try await withThrowingTaskGroup(of: [Int].self) { group in
                    for pool in pools { group.addTask { try await Migrator(pool: pool, migrations: Self.migrations).up() } }
                    var failure: (any Error)?
                    do {
                        try await eventually("four migrators waiting for the lock") {
                            try await TestDatabase.admin(
                                """
                                SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                                WHERE d.datname = $1 AND l.locktype = 'advisory' AND NOT l.granted
                                """, [db.name]
                            ).first?.decode(0, as: Int.self) == 4
                        }
                    } catch {
                        failure = error
                    }
                    // Released whatever happened: the migrators must not wait for it forever.
                    try await connection.query("SELECT pg_advisory_unlock($1)", [Migrator.lockKey])
                    if let failure { throw failure }
                    return try await group.reduce(into: [Int]()) { $0 += $1 }
                }
            }
        }
        #expect(applied.sorted() == [1, 2, 3])
        let rows = try await pools[0].query("SELECT id FROM a ORDER BY id").rows.map { try $0.decode(0, as: Int.self) }
        #expect(rows == [1, 3])
        let status = try await Migrator(pool: pools[0], migrations: Self.migrations).status()
        #expect(status.map(\.version) == [1, 2, 3])
        #expect(status.allSatisfy { $0.appliedAt != nil })
        for pool in pools { await pool.close() }
    }

    @Test func aFailingMigrationRollsBackAndStopsTheRest() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let broken = [
                Migration(version: 1, name: "ok", sql: "CREATE TABLE a (id int);"),
                Migration(version: 2, name: "broken", sql: "CREATE TABLE b (id int); CREATE TABLE b (id int);"),
                Migration(version: 3, name: "after", sql: "CREATE TABLE c (id int);"),
            ]
            let error = try await #require(throws: PostgresError.self) { try await Migrator(pool: pool, migrations: broken).up() }
            #expect(error.sqlState == "42P07")
            let tables = try await pool.query(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).rows.map { try $0.decode(0, as: String.self) }
            #expect(tables == ["a", "schema_migrations"])
            let status = try await Migrator(pool: pool, migrations: broken).status()
            #expect(status.map { $0.appliedAt != nil } == [true, false, false])
            // The lock was released: a corrected set applies.
            var fixed = broken
            fixed[1] = Migration(version: 2, name: "fixed", sql: "CREATE TABLE b (id int);")
            #expect(try await Migrator(pool: pool, migrations: fixed).up() == [2, 3])
        }
    }

    @Test func aChangedAppliedMigrationIsRefusedAndNothingIsApplied() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await Migrator(pool: pool, migrations: Self.migrations).up()
            var changed = Self.migrations
            changed[1] = Migration(version: 2, name: "second", sql: "CREATE TABLE b (id bigint PRIMARY KEY);")
            changed.append(Migration(version: 4, name: "fourth", sql: "CREATE TABLE d (id int);"))

            let error = try await #require(throws: MigrationChangedError.self) { try await Migrator(pool: pool, migrations: changed).up() }
            #expect(error.version == 2)
            #expect(error.description.hasPrefix("migration 2 (second) was changed after it was applied: "))
            #expect(error.appliedChecksum == Self.migrations[1].checksum)
            #expect(error.currentChecksum == changed[1].checksum)
            #expect(try await Self.tables(pool) == ["a", "b", "schema_migrations"])
            #expect(try await pool.query("SELECT count(*) FROM schema_migrations").first?.decode(0, as: Int.self) == 3)

            await #expect(throws: MigrationChangedError.self) { try await Migrator(pool: pool, migrations: changed).status() }
            // The lock was released, and the unchanged set still starts.
            #expect(try await Migrator(pool: pool, migrations: Self.migrations).up() == [])
        }
    }

    @Test func aTableWithoutChecksumsIsBackfilledOnTheFirstStart() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await Self.applyAsBeforeChecksums(Self.migrations[0...1], pool)

            #expect(try await Migrator(pool: pool, migrations: Self.migrations).up() == [3])
            // Each checksum is SHA-256 of the SQL, as PostgreSQL computes it too.
            let rows = try await pool.query("SELECT version, checksum FROM schema_migrations ORDER BY version").rows
            for (row, migration) in zip(rows, Self.migrations) {
                let expected = try #require(try await pool.query(
                    "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex') AS sum", [migration.sql]
                ).first).decode("sum", as: String.self)
                #expect(try row.decode("version", as: Int.self) == migration.version)
                #expect(try row.decode("checksum", as: String?.self) == expected)
            }
            // From now on an edit of a migration applied before the backfill is noticed too.
            var changed = Self.migrations
            changed[0] = Migration(version: 1, name: "first", sql: "CREATE TABLE a (id int PRIMARY KEY);")
            let error = try await #require(throws: MigrationChangedError.self) { try await Migrator(pool: pool, migrations: changed).up() }
            #expect(error.description.hasPrefix("migration 1 (first) was changed after it was applied: "))
        }
    }

    @Test func concurrentFirstStartsOnATableWithoutChecksumsTakeTurns() async throws {
        let db = try await TestDatabase.create()
        // Two connections each: `status` must not queue behind its own pool's `up`, which may wait
        // a while for the lock under load (a 10 s pool wait once ran out here on a busy machine).
        let pools = (0..<4).map { _ in DatabasePool(.init(connectionString: db.url, maximumConnections: 2)) }
        try await Self.applyAsBeforeChecksums(Self.migrations[0...0], pools[0])
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for pool in pools {
                group.addTask { try await Migrator(pool: pool, migrations: Self.migrations).up() }
                // `status` takes no lock: it may add the column while a start holds the lock.
                group.addTask { _ = try await Migrator(pool: pool, migrations: Self.migrations).status(); return [] }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied.sorted() == [2, 3])
        let rows = try await pools[0].query("SELECT version, checksum FROM schema_migrations ORDER BY version").rows
        #expect(try rows.map { try $0.decode("version", as: Int.self) } == [1, 2, 3])
        #expect(try rows.map { try $0.decode("checksum", as: String?.self) } == Self.migrations.map(\.checksum))
        for pool in pools { await pool.close() }
    }

    /// Applies `migrations` the way the code did before it recorded checksums: the old table,
    /// without the column.
    static func applyAsBeforeChecksums(_ migrations: ArraySlice<Migration>, _ pool: DatabasePool) async throws {
        try await pool.query("""
            CREATE TABLE schema_migrations (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        for migration in migrations {
            try await pool.withTransaction { connection in
                try connection.execute(migration.sql)
                try connection.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name])
            }
        }
    }

    static func tables(_ pool: DatabasePool) async throws -> [String] {
        try await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").rows.map { try $0.decode(0, as: String.self) }
    }
}

import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

@Suite struct ErrorAndTransactionTests {
    @Test func serverErrorsCarrySQLState() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await pool.query("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL)")
            try await pool.query("INSERT INTO t VALUES ($1, $2)", [1, "a"])

            let duplicate = try await #require(throws: PostgresError.self) {
                try await pool.query("INSERT INTO t VALUES ($1, $2)", [1, "b"])
            }
            #expect(duplicate.sqlState == "23505")
            #expect(duplicate.isUniqueViolation)
            #expect(duplicate.constraint == "t_pkey")
            #expect(duplicate.kind == .server)

            let syntax = try await #require(throws: PostgresError.self) { try await pool.query("SELEC 1") }
            #expect(syntax.sqlState == "42601")

            let badInput = try await #require(throws: PostgresError.self) { try await pool.query("SELECT $1::int", ["x"]) }
            #expect(badInput.sqlState == "22P02")

            let notNull = try await #require(throws: PostgresError.self) {
                try await pool.query("INSERT INTO t VALUES ($1, $2)", [2, String?.none])
            }
            #expect(notNull.sqlState == "23502")

            // The connection that saw the errors is still usable.
            #expect(try await pool.query("SELECT count(*) FROM t").first?.decode(0, as: Int.self) == 1)
        }
    }

    @Test func aThrowingTransactionLeavesNothingBehind() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await pool.query("CREATE TABLE t (id int PRIMARY KEY)")
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await pool.withTransaction { connection in
                    try connection.query("INSERT INTO t VALUES (1)")
                    throw Abort()
                }
            }
            try await pool.withTransaction { connection in
                _ = try connection.query("INSERT INTO t VALUES (2)")
            }
            let ids = try await pool.query("SELECT id FROM t").rows.map { try $0.decode(0, as: Int.self) }
            #expect(ids == [2])
        }
    }

    @Test func serializationFailuresAreRetried() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await pool.query("CREATE TABLE t (id int PRIMARY KEY)")
            let attempts = Atomic<Int>(0)
            try await pool.withTransaction(isolation: .serializable) { connection in
                let attempt = attempts.add(1, ordering: .relaxed).newValue
                try connection.query("INSERT INTO t VALUES ($1)", [attempt])
                if attempt == 1 {
                    try connection.execute("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
                }
            }
            #expect(attempts.load(ordering: .relaxed) == 2)
            let ids = try await pool.query("SELECT id FROM t").rows.map { try $0.decode(0, as: Int.self) }
            #expect(ids == [2])

            // A non-retryable error is not retried.
            let count = Atomic<Int>(0)
            await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    count.add(1, ordering: .relaxed)
                    try connection.query("INSERT INTO t VALUES (2)")
                }
            }
            #expect(count.load(ordering: .relaxed) == 1)
        }
    }

    @Test func aWrongURLFailsFastNamingTheHost() async throws {
        try await withPool(.init(connectionString: "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=5")) { pool in
            // One attempt, one error: no retry loop stands between a wrong URL and the message.
            let error = try await #require(throws: PostgresError.self) { try await pool.check() }
            #expect(error.kind == .connection)
            #expect(error.message.contains("127.0.0.1"))
        }
    }

    @Test func multiHostURLsWithTargetSessionAttrsConnect() async throws {
        let db = try await TestDatabase.create()
        // The first host refuses; libpq moves on to the second, which is a primary.
        let url = db.url.replacingOccurrences(of: "@127.0.0.1:", with: "@127.0.0.1:1,127.0.0.1:")
            + "?target_session_attrs=read-write"
        try await withPool(.init(connectionString: url)) { pool in
            let one = try await pool.query("SELECT 1").first?.decode(0, as: Int.self)
            #expect(one == 1)
        }
    }
}

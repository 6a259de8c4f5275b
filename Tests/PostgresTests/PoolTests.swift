import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct PoolTests {
    @Test func terminatedBackendsAreReplacedTransparently() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url, maximumConnections: 4)) { pool in
            // Hold four connections at once, each until all four are held, so the pool opens four.
            let holding = Watched(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            try await connection.query("SELECT 1")
                            holding.update { $0 += 1 }
                            try await holding.wait { $0 == 4 }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(await pool.statistics.open == 4)
            let killed = try await TestDatabase.admin(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                [db.name]
            )
            #expect(try killed.first?.decode(0, as: Int.self) == 4)
            // Give the server a moment to deliver the termination to the idle sockets.
            try await eventually("backends gone") {
                try await TestDatabase.admin("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", [db.name])
                    .first?.decode(0, as: Int.self) == 0
            }
            // Every next query succeeds, on fresh connections.
            for _ in 0..<8 {
                #expect(try await pool.query("SELECT 1").first?.decode(0, as: Int.self) == 1)
            }
        }
    }

    @Test func aConnectionThatDiesMidQueryIsDropped() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url, maximumConnections: 1)) { pool in
            let pid = try #require(try await pool.query("SELECT pg_backend_pid()").first?.decode(0, as: Int32.self))
            async let killer: Void = {
                // Once the query is running on that backend, not before.
                try await waitForQuery(in: db.name, containing: "pg_sleep(30)", pid: pid)
                _ = try await TestDatabase.admin("SELECT pg_terminate_backend($1)", [pid])
            }()
            let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT pg_sleep(30)") }
            try await killer
            #expect(error.kind == .connection)
            let newPID = try #require(try await pool.query("SELECT pg_backend_pid()").first?.decode(0, as: Int32.self))
            #expect(newPID != pid)
        }
    }

    @Test func waitingForABusyPoolTimesOutWithAClearError() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url, maximumConnections: 1, acquireTimeout: .milliseconds(300))) { pool in
            async let holder: Void = pool.withConnection { connection in
                try await connection.query("SELECT pg_sleep(60)")
            }
            // The holder has the only connection once its query runs; it holds it until we cancel it.
            try await waitForQuery(in: db.name, containing: "pg_sleep(60)")
            let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(error.kind == .poolTimeout)
            #expect(error.message.contains("waiting for a database connection"))
            _ = try await TestDatabase.admin(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND position('pg_sleep(60)' in query) > 0", [db.name]
            )
            _ = try? await holder
            // Once it is free again, it serves.
            #expect(try await pool.query("SELECT 1").first?.decode(0, as: Int.self) == 1)
        }
    }

    /// The database goes away while callers wait for the only connection: when it is returned
    /// broken, every waiter tries the freed slot in turn and hears the database's error, none
    /// waits out the acquire timeout behind an open that failed for someone else.
    @Test func whenTheFreedSlotCannotConnectEveryWaiterHearsAtOnce() async throws {
        let postgres = try await ThrowawayPostgres()
        // The holder below stops it; if the test fails first, the cluster's deinit ends it.
        try await postgres.start()
        try await withPool(.init(connectionString: postgres.url(), maximumConnections: 1, acquireTimeout: .seconds(60))) { pool in
            let (go, proceed) = AsyncStream<Void>.makeStream()
            let (holding, held) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await pool.withConnection { connection in
                    _ = try await connection.query("SELECT 1")
                    held.yield()
                    for await _ in go { break }
                    try await postgres.stop()
                    // The backend is gone: the connection breaks and goes back to the pool broken.
                    _ = try? await connection.query("SELECT 1")
                }
            }
            // The waiters queue only once the holder has the one connection.
            for await _ in holding { break }
            let waiters = (0..<2).map { _ in Task { try await pool.query("SELECT 1") } }
            try await eventually("two callers wait") { await pool.statistics.waiting == 2 }
            proceed.yield()
            try await holder.value
            for waiter in waiters {
                let error = try await #require(throws: PostgresError.self) { try await waiter.value }
                #expect(error.kind != .poolTimeout, "a waiter waited out the timeout: \(error)")
            }
            #expect(await pool.statistics.open == 0)
        }
    }

    @Test func manyConcurrentCallersShareABoundedPool() async throws {
        let db = try await TestDatabase.create()
        // A generous wait: this checks that the pool stays bounded and serves everyone, not speed.
        try await withPool(.init(connectionString: db.url, maximumConnections: 3, acquireTimeout: .seconds(120))) { pool in
            let sum = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<200 { group.addTask { try await pool.query("SELECT $1::int", [i]).first!.decode(0) } }
                return try await group.reduce(0, +)
            }
            #expect(sum == (0..<200).reduce(0, +))
            #expect(await pool.statistics.open <= 3)
            let backends = try await TestDatabase.admin("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", [db.name])
            #expect(try backends.first!.decode(0, as: Int.self) <= 3)
        }
    }
}

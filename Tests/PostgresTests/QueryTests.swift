import Foundation
import Postgres
import Testing
import TestSupport

/// One query value, run on the pool and on a transaction's connection by the same code.
@Suite struct QueryTests {
    struct Item: Sendable, Equatable {
        var id: Int
        var name: String
    }

    static func items(after id: Int) -> PostgresQuery<Item> {
        PostgresQuery("SELECT name, id FROM items WHERE id > \(id) ORDER BY id") { row in
            Item(id: try row.decode("id"), name: try row.decode("name"))
        }
    }

    static func insert(_ item: Item) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO items (id, name) VALUES (\(item.id), \(item.name))")
    }

    static let count = PostgresQuery<Int>("SELECT count(*) AS n FROM items", column: "n")

    @Test func theSameQueryRunsOnThePoolAndInATransaction() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await pool.query("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
            try await pool.execute(Self.insert(Item(id: 1, name: "a")))
            let inside = try await pool.withTransaction { connection in
                try connection.execute(Self.insert(Item(id: 2, name: "b")))
                return try connection.all(Self.items(after: 0))
            }
            let outside = try await pool.all(Self.items(after: 0))
            #expect(inside == [Item(id: 1, name: "a"), Item(id: 2, name: "b")])
            #expect(outside == inside)
            #expect(try await pool.one(Self.items(after: 1)) == Item(id: 2, name: "b"))
            #expect(try await pool.one(Self.items(after: 2)) == nil)
            #expect(try await pool.one(Self.count) == 2)
            #expect(try await pool.one(Self.count.map { $0 * 10 }) == 20)
        }
    }

    @Test func executeCountsTheRowsItTouched() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await pool.query("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
            for id in 1...3 { try await pool.execute(Self.insert(Item(id: id, name: "n\(id)"))) }
            let rename = PostgresQuery<Void>("UPDATE items SET name = \(String("renamed")) WHERE id >= \(Int(2))")
            #expect(try await pool.execute(rename) == 2)
            let touched = try await pool.withTransaction { connection in try connection.execute(rename) }
            #expect(touched == 2)
            // A query that returns rows counts them.
            #expect(try await pool.execute(Self.items(after: 0)) == 3)
        }
    }

    @Test func aRowThatDoesNotDecodeFailsTheQuery() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let wrong = PostgresQuery<Int>("SELECT 'x'::text AS n", column: "n")
            let error = try await #require(throws: PostgresError.self) { try await pool.one(wrong) }
            #expect(error.kind == .decoding)
            #expect(error.message.contains("column n"))
            let missing = PostgresQuery<Int>("SELECT 1 AS m", column: "n")
            let absent = try await #require(throws: PostgresError.self) { try await pool.all(missing) }
            #expect(absent.message == "no column named n")
        }
    }
}

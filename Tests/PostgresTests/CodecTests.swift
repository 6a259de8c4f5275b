import Foundation
import Postgres
import Testing
import TestSupport

/// The typed codecs: string enums, arrays of UUIDs and dates, and JSON columns as Codable values.
@Suite struct CodecTests {
    enum Color: String, PostgresEncodable, PostgresDecodable {
        case red, deepBlue = "deep_blue"
    }

    struct Manifest: Codable, Sendable, Equatable {
        var name: String
        var sizes: [Int]
    }

    @Test func stringEnumsBindTheirRawValueAndRefuseUnknownValues() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let row = try #require(try await pool.query("SELECT $1::text AS color, 'purple'::text AS other, NULL::text AS missing", [Color.deepBlue]).first)
            #expect(row[0] == "deep_blue")
            #expect(try row.decode("color", as: Color.self) == .deepBlue)
            #expect(try row.decode("missing", as: Color?.self) == nil)
            let unknown = try #require(throws: PostgresError.self) { try row.decode("other", as: Color.self) }
            #expect(unknown.kind == .decoding)
            #expect(unknown.message.contains("column other"))
            #expect(unknown.message.contains("purple"))
            let null = try #require(throws: PostgresError.self) { try row.decode("missing", as: Color.self) }
            #expect(null.message.contains("column missing is NULL"))
        }
    }

    @Test func uuidArraysReadUUIDAndTextArraysAndBindAsUUIDArrays() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let ids = [UUID(), UUID(), UUID()]
            let row = try #require(try await pool.query(
                """
                SELECT $1::uuid[] AS ids, ($1::uuid[])::text[] AS texts, '{}'::uuid[] AS empty,
                       cardinality($1::uuid[]) AS count, ARRAY[NULL]::uuid[] AS holey, ARRAY['nope']::text[] AS bad
                """,
                [ids]
            ).first)
            #expect(try row.decode("ids", as: [UUID].self) == ids)
            #expect(try row.decode("texts", as: [UUID].self) == ids)
            #expect(try row.decode("empty", as: [UUID].self) == [])
            #expect(try row.decode("count", as: Int.self) == 3)
            // A NULL element has no UUID to be; neither has a malformed one.
            #expect(throws: PostgresError.self) { try row.decode("holey", as: [UUID].self) }
            let bad = try #require(throws: PostgresError.self) { try row.decode("bad", as: [UUID].self) }
            #expect(bad.message.contains("column bad"))
        }
    }

    @Test func dateArraysKeepMicroseconds() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let dates = [Date(timeIntervalSince1970: 1_714_567_890.123456), Date(timeIntervalSince1970: -0.5)]
            let row = try #require(try await pool.query("SELECT $1::timestamptz[] AS dates", [dates]).first)
            let decoded = try row.decode("dates", as: [Date].self)
            #expect(decoded.count == 2)
            for (a, b) in zip(decoded, dates) { #expect(abs(a.timeIntervalSince1970 - b.timeIntervalSince1970) < 0.000_001) }
        }
    }

    @Test func jsonColumnsDecodeAsCodableValues() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let tags = ["scope": "organization", "owner": "", "ünï/code": "a\"b"]
            let manifest = Manifest(name: "x", sizes: [1, 2])
            let row = try #require(try await pool.query(
                """
                SELECT $1::jsonb AS tags, $2::json AS manifest, '{"a": 1}'::jsonb AS numbers, '[]'::jsonb AS list,
                       $1::jsonb @> '{"scope": "organization"}' AS contains
                """,
                [try PostgresJSONValue(tags), try PostgresJSONValue(manifest)]
            ).first)
            #expect(try row.decodeJSON("tags", as: [String: String].self) == tags)
            #expect(try row.decode("tags", as: PostgresJSONValue<[String: String]>.self).value == tags)
            #expect(try row.decodeJSON("manifest", as: Manifest.self) == manifest)
            #expect(try row.decode("contains", as: Bool.self))
            // A column that does not hold the type is an error, not an empty value.
            let numbers = try #require(throws: PostgresError.self) { try row.decodeJSON("numbers", as: [String: String].self) }
            #expect(numbers.kind == .decoding)
            #expect(numbers.message.contains("column numbers"))
            #expect(throws: PostgresError.self) { try row.decodeJSON("list", as: [String: String].self) }
        }
    }

    @Test func jsonValuesThatJSONCannotHoldFailWhereTheyAreBound() throws {
        #expect(throws: (any Error).self) { try PostgresJSONValue(["x": Double.nan]) }
    }
}

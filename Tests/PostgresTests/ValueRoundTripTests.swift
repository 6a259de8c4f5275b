import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct ValueRoundTripTests {
    @Test func everySupportedTypeRoundTrips() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in

            let id = UUID()
            let date = Date(timeIntervalSince1970: 1_714_567_890.123456)
            let bytes = PostgresBytes((0...255).map(UInt8.init) + [0, 0, 92, 120])
            let tags = ["plain", "with space", "quote\"inside", "back\\slash", "", "comma,brace}{", "NULL", "ünïcødé ✓"]
            let text = "Robert'); DROP TABLE students;-- ✓"
            let json = PostgresJSON(#"{"a": [1, 2.5, null], "b": "ü"}"#)

            let row = try #require(try await pool.query(
                """
                SELECT $1::uuid, $2::text, $3::int2, $4::int4, $5::int8, $6::bool, $7::float8,
                       $8::timestamptz, $9::bytea, $10::jsonb, $11::text[], $12::text, $13::text[]
                """,
                [id, text, Int16.min, Int32.max, Int64.min, true, 3.141592653589793, date, bytes, json, tags, String?.none, [String]()]
            ).first)

            #expect(try row.decode(0, as: UUID.self) == id)
            #expect(try row.decode(1, as: String.self) == text)
            #expect(try row.decode(2, as: Int16.self) == .min)
            #expect(try row.decode(3, as: Int32.self) == .max)
            #expect(try row.decode(4, as: Int64.self) == .min)
            #expect(try row.decode(5, as: Bool.self) == true)
            #expect(try row.decode(6, as: Double.self) == 3.141592653589793)
            let decodedDate = try row.decode(7, as: Date.self)
            #expect(abs(decodedDate.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
            #expect(try row.decode(8, as: PostgresBytes.self) == bytes)
            // jsonb normalizes its text; compare the parsed values.
            let decodedJSON = try row.decode(9, as: PostgresJSON.self)
            #expect(try JSONSerialization.jsonObject(with: Data(decodedJSON.text.utf8)) as? NSDictionary
                == JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? NSDictionary)
            #expect(try row.decode(10, as: [String].self) == tags)
            #expect(try row.decode(11, as: String?.self) == nil)
            #expect(try row.decode(12, as: [String].self) == [])
            #expect(throws: PostgresError.self) { try row.decode(11, as: String.self) }
        }
    }

    @Test func decodingTheWrongTypeIsAnError() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let row = try #require(try await pool.query("SELECT 'not a number'::text AS v").first)
            let error = try #require(throws: PostgresError.self) { try row.decode("v", as: Int.self) }
            #expect(error.kind == .decoding)
        }
    }

    @Test func timestampsKeepMicrosecondsAndReadEveryOffset() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            let row = try #require(try await pool.query(
                "SELECT '2024-02-29 23:59:59.999999+05:30'::timestamptz, '1969-12-31 23:59:59.5+00'::timestamptz"
            ).first)
            let leap = try row.decode(0, as: Date.self)
            #expect(abs(leap.timeIntervalSince1970 - 1_709_231_399.999999) < 0.000_002)
            #expect(try row.decode(1, as: Date.self).timeIntervalSince1970 == -0.5)
        }
    }
}

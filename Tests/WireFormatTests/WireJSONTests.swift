import Foundation
import Testing
@testable import WireFormat

@Suite struct WireJSONTests {
    struct Inner: Codable, Equatable {
        var name: String
        var tags: [String: String]
    }

    struct Sample: Codable, Equatable {
        var id: UUID
        var ids: [UUID]
        var owner: UUID?
        var at: Date
        var count: Int64
        var ratio: Double
        var whole: Double
        var ok: Bool
        var note: String?
        var inner: Inner
        var list: [Inner]
        var blob: Data
    }

    let id = UUID(uuidString: "8F6A2E1C-0B5D-4C3A-9E7F-112233445566")!
    let at = Date(timeIntervalSince1970: 1_714_566_896.123456)

    var sample: Sample {
        Sample(
            id: id, ids: [id, id], owner: nil, at: at, count: -(1 << 40), ratio: 0.25, whole: 3, ok: true, note: "a/b \"q\"\n\u{1}",
            inner: Inner(name: "x", tags: ["z": "1", "a": "2", "m": "3"]), list: [Inner(name: "y", tags: [:])], blob: Data([0, 1, 2])
        )
    }

    @Test func writesTheProductsConventions() throws {
        let text = try WireJSON.encodeString(sample)
        #expect(text == #"{"id":"8f6a2e1c-0b5d-4c3a-9e7f-112233445566","ids":["8f6a2e1c-0b5d-4c3a-9e7f-112233445566","8f6a2e1c-0b5d-4c3a-9e7f-112233445566"],"at":"2024-05-01T12:34:56.123456Z","count":-1099511627776,"ratio":0.25,"whole":3,"ok":true,"note":"a/b \"q\"\n\u0001","inner":{"name":"x","tags":{"a":"2","m":"3","z":"1"}},"list":[{"name":"y","tags":{}}],"blob":"AAEC"}"#)
    }

    @Test func roundTripsThroughFoundationsParser() throws {
        let bytes = try WireJSON.encode(sample)
        #expect(try WireJSON.decode(Sample.self, from: Data(bytes)) == sample)
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) is [String: Any])
    }

    @Test func topLevelValuesAndEmptyContainers() throws {
        #expect(try WireJSON.encodeString([Int]()) == "[]")
        #expect(try WireJSON.encodeString(["k": [UUID]()]) == #"{"k":[]}"#)
        #expect(try WireJSON.encodeString(id) == #""8f6a2e1c-0b5d-4c3a-9e7f-112233445566""#)
        #expect(try WireJSON.encodeString(Optional<Int>.none) == "null")
        #expect(try WireJSON.encodeString([[1, 2], [3]]) == "[[1,2],[3]]")
    }

    @Test func refusesNonFiniteNumbers() {
        #expect(throws: EncodingError.self) { try WireJSON.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try WireJSON.encode(["x": Double.infinity]) }
    }

    @Test func readsDatesWithOrWithoutAFractionInAnyOffset() throws {
        struct Stamp: Decodable { var at: Date }
        for (text, expected) in [
            ("2024-05-01T12:34:56Z", 1_714_566_896.0),
            ("2024-05-01T12:34:56.5Z", 1_714_566_896.5),
            ("2024-05-01T14:34:56+02:00", 1_714_566_896.0),
            ("2024-05-01 12:34:56.25+00", 1_714_566_896.25),
        ] {
            let stamp = try WireJSON.decode(Stamp.self, from: Data(#"{"at":"\#(text)"}"#.utf8))
            #expect(abs(stamp.at.timeIntervalSince1970 - expected) < 1e-6, "\(text)")
        }
        #expect(throws: DecodingError.self) { try WireJSON.decode(Stamp.self, from: Data(#"{"at":"yesterday"}"#.utf8)) }
    }

    @Test func formatsMicrosecondsAndDatesBeforeTheEpoch() {
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500000Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        #expect(RFC3339.date(from: "1970-01-01T00:00:00.000000Z") == Date(timeIntervalSince1970: 0))
        #expect(RFC3339.date(from: "1970-01-01T00:00:00") == Date(timeIntervalSince1970: 0))
        #expect(RFC3339.date(from: "1970-01-01T00:00") == nil)
    }
}

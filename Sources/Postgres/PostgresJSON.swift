import Foundation
import WireFormat

/// jsonb as its serialized text, for callers that keep JSON as text (a job's input, its result)
/// or pass it from one statement to the next unread.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public var postgresParameter: PostgresParameter { .text(text) }
    public init(postgresText text: String) { self.text = text }
}

/// A json or jsonb column or parameter holding a `Value` (tags as `[String: String]`, say), in
/// the product's one JSON configuration (`WireJSON`: dictionaries in sorted key order, so equal
/// values bind equal text). A column that does not hold a
/// `Value` is a decoding error, never an empty default.
public struct PostgresJSONValue<Value: Codable & Sendable>: PostgresEncodable, PostgresDecodable {
    public let value: Value
    private let text: String

    /// Encodes now, so that a value JSON cannot hold (a NaN, say) fails here, where it is bound.
    public init(_ value: Value) throws {
        self.value = value
        self.text = try WireJSON.encodeString(value)
    }

    public var postgresParameter: PostgresParameter { .text(text) }

    public init(postgresText text: String) throws {
        do {
            self.value = try WireJSON.decode(Value.self, from: Data(text.utf8))
        } catch {
            throw decodingError("json \(Value.self)", String(text.prefix(64)))
        }
        self.text = text
    }
}

extension PostgresRow {
    /// Decodes the json or jsonb column `name` as a `Value`.
    public func decodeJSON<Value: Codable & Sendable>(_ name: String, as type: Value.Type = Value.self) throws -> Value {
        try decode(name, as: PostgresJSONValue<Value>.self).value
    }
}

import Foundation

/// A parameter as libpq takes it: text for everything but bytea, which goes in binary so that
/// arbitrary bytes need no escaping.
public enum PostgresParameter: Sendable, Equatable {
    case null
    case text(String)
    case binary([UInt8])
}

/// A Swift value that can be bound to a `$n` placeholder.
public protocol PostgresEncodable: Sendable {
    var postgresParameter: PostgresParameter { get }
}

/// A Swift value that can be read from a column in text format.
public protocol PostgresDecodable: Sendable {
    /// `text` is the column's value in PostgreSQL's text output format.
    init(postgresText text: String) throws
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresParameter: PostgresParameter { self?.postgresParameter ?? .null }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresParameter: PostgresParameter { .text(self) }
    public init(postgresText text: String) { self = text }
}

extension Substring: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresParameter: PostgresParameter { .text(postgresText) }
    public init(postgresText text: String) throws {
        guard let value = UUID(uuidString: text) else { throw decodingError("uuid", text) }
        self = value
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresParameter: PostgresParameter { .text(self ? "t" : "f") }
    public init(postgresText text: String) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw decodingError("bool", text)
        }
    }
}

extension FixedWidthInteger where Self: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension FixedWidthInteger where Self: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = Self(text) else { throw decodingError(String(describing: Self.self), text) }
        self = value
    }
}

extension Int16: PostgresEncodable, PostgresDecodable {}
extension Int32: PostgresEncodable, PostgresDecodable {}
extension Int64: PostgresEncodable, PostgresDecodable {}
extension Int: PostgresEncodable, PostgresDecodable {}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresParameter: PostgresParameter {
        // Infinity and NaN are spelled the way PostgreSQL reads them back.
        if isNaN { return .text("NaN") }
        if isInfinite { return .text(self < 0 ? "-Infinity" : "Infinity") }
        return .text("\(self)")
    }
    public init(postgresText text: String) throws {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { throw decodingError("float8", text) }
            self = value
        }
    }
}

extension Date: PostgresEncodable, PostgresDecodable {
    public var postgresParameter: PostgresParameter { .text(postgresText) }
    public init(postgresText text: String) throws {
        guard let value = PostgresTimestamp.parse(text) else { throw decodingError("timestamptz", text) }
        self = value
    }
}

/// bytea: bound in binary, read from the hex text format (`\x0a0b…`).
public struct PostgresBytes: PostgresEncodable, PostgresDecodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init<D: DataProtocol>(_ data: D) { self.bytes = Array(data) }

    public var postgresParameter: PostgresParameter { .binary(bytes) }

    public init(postgresText text: String) throws {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            throw decodingError("bytea", String(text.prefix(32)))
        }
        var out = [UInt8]()
        out.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else {
                throw decodingError("bytea", String(text.prefix(32)))
            }
            out.append(high << 4 | low)
            index += 2
        }
        self.bytes = out
    }
}

extension Data: PostgresEncodable, PostgresDecodable {
    public var postgresParameter: PostgresParameter { .binary(Array(self)) }
    public init(postgresText text: String) throws { self = Data(try PostgresBytes(postgresText: text).bytes) }
}

func decodingError(_ type: String, _ text: String) -> PostgresError {
    PostgresError(.decoding, "cannot read \(type) from \"\(text)\"")
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

import Foundation

/// An `Encoder` that writes the product's JSON: UUIDs in lowercase (as Coder writes them;
/// Foundation's `UUID` encodes uppercase), dates as `RFC3339` with microseconds, `Data` as base64,
/// object keys in the order the type encodes them (dictionaries sorted, so output is stable), and
/// no escaped slashes. Foundation's `JSONEncoder` has no hook for UUIDs, hence our own.
///
/// Values are collected into a small tree first (a type may hold several containers at once),
/// then written in one pass.
struct JSONWriter {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let root = JSONNode.Box()
        try JSONTreeEncoder(box: root, codingPath: []).encodeValue(value)
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(root.node ?? .null, to: &out)
        return out
    }

    private static func write(_ node: JSONNode, to out: inout [UInt8]) {
        switch node {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, to: &out)
        case .array(let array):
            out.append(UInt8(ascii: "["))
            for (i, item) in array.items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item.node ?? .null, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, key) in object.keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(object.values[key]?.node ?? .null, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            // Runs of plain bytes are copied at once: archives in the daemon protocol are megabytes.
            var runStart = 0
            for (i, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                runStart = i + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The tree a value encodes into. Containers hold boxes, so that a nested container filled after
/// its parent moved on still lands in the right place.
enum JSONNode {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array(Array)
    case object(Object)

    final class Box {
        var node: JSONNode?
        init(_ node: JSONNode? = nil) { self.node = node }
    }

    final class Array {
        var items: [Box] = []
    }

    final class Object {
        var keys: [String] = []
        var values: [String: Box] = [:]

        func box(for key: String) -> Box {
            if let existing = values[key] { return existing }
            let box = Box()
            keys.append(key)
            values[key] = box
            return box
        }
    }

    static func double(_ value: Double) throws -> JSONNode {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "JSON has no \(value)"))
        }
        // Integral values print without ".0", as Go and Foundation write them.
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number("\(value)")
    }
}

private struct JSONTreeEncoder: Encoder {
    let box: JSONNode.Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: JSONNode.Object
        if case .object(let existing) = box.node {
            object = existing
        } else {
            object = JSONNode.Object()
            box.node = .object(object)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        ArrayContainer(codingPath: codingPath, in: box)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(encoder: self) }

    /// The special cases first; everything else encodes itself.
    func encodeValue(_ value: some Encodable) throws {
        switch value {
        case let uuid as UUID: box.node = .string(uuid.uuidString.lowercased())
        case let date as Date: box.node = .string(RFC3339.string(from: date))
        case let data as Data: box.node = .string(data.base64EncodedString())
        case let url as URL: box.node = .string(url.absoluteString)
        case let decimal as Decimal: box.node = .number(decimal.description)
        case let dictionary as [String: any Encodable]:
            let object = JSONNode.Object()
            box.node = .object(object)
            for key in dictionary.keys.sorted() {
                try JSONTreeEncoder(box: object.box(for: key), codingPath: codingPath + [AnyKey(key)]).encodeExistential(dictionary[key]!)
            }
        default: try value.encode(to: self)
        }
    }

    private func encodeExistential(_ value: any Encodable) throws {
        try encodeValue(value)
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: JSONNode.Object
    let codingPath: [any CodingKey]

    private func encoder(for key: some CodingKey) -> JSONTreeEncoder {
        JSONTreeEncoder(box: object.box(for: key.stringValue), codingPath: codingPath + [key])
    }

    mutating func encodeNil(forKey key: Key) throws { object.box(for: key.stringValue).node = .null }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.box(for: key.stringValue).node = .bool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { object.box(for: key.stringValue).node = .string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { object.box(for: key.stringValue).node = try .double(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { object.box(for: key.stringValue).node = try .double(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { object.box(for: key.stringValue).node = .number(String(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encoder(for: key).encodeValue(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        encoder(for: key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { encoder(for: key).unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { encoder(for: AnyKey("super")) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder(for: key) }
}

private struct ArrayContainer: UnkeyedEncodingContainer {
    let codingPath: [any CodingKey]
    let array: JSONNode.Array
    var count: Int { array.items.count }

    init(codingPath: [any CodingKey], in box: JSONNode.Box) {
        self.codingPath = codingPath
        if case .array(let existing) = box.node {
            array = existing
        } else {
            array = JSONNode.Array()
            box.node = .array(array)
        }
    }

    private func append(_ node: JSONNode?) -> JSONNode.Box {
        let box = JSONNode.Box(node)
        array.items.append(box)
        return box
    }

    private func nextEncoder() -> JSONTreeEncoder {
        JSONTreeEncoder(box: append(nil), codingPath: codingPath + [AnyKey(intValue: array.items.count)!])
    }

    mutating func encodeNil() throws { _ = append(.null) }
    mutating func encode(_ value: Bool) throws { _ = append(.bool(value)) }
    mutating func encode(_ value: String) throws { _ = append(.string(value)) }
    mutating func encode(_ value: Double) throws { _ = append(try .double(value)) }
    mutating func encode(_ value: Float) throws { _ = append(try .double(Double(value))) }
    mutating func encode(_ value: Int) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: Int8) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: Int16) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: Int32) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: Int64) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: UInt) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: UInt8) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: UInt16) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: UInt32) throws { _ = append(.number(String(value))) }
    mutating func encode(_ value: UInt64) throws { _ = append(.number(String(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws { try nextEncoder().encodeValue(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        nextEncoder().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { nextEncoder().unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { nextEncoder() }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: JSONTreeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.box.node = .null }
    mutating func encode(_ value: Bool) throws { encoder.box.node = .bool(value) }
    mutating func encode(_ value: String) throws { encoder.box.node = .string(value) }
    mutating func encode(_ value: Double) throws { encoder.box.node = try .double(value) }
    mutating func encode(_ value: Float) throws { encoder.box.node = try .double(Double(value)) }
    mutating func encode(_ value: Int) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: Int8) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: Int16) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: Int32) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: Int64) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: UInt) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.box.node = .number(String(value)) }
    mutating func encode(_ value: UInt64) throws { encoder.box.node = .number(String(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value) }
}

import Foundation

extension JSONValue {
    /// The value with every string and key in Unicode NFC, so that text a client may send in
    /// either normal form (`é` precomposed, or `e` and a combining accent) is stored, compared
    /// and made unique in one.
    public var precomposed: JSONValue {
        switch self {
        case .string(let text):
            return .string(text.precomposedStringWithCanonicalMapping)
        case .array(let elements):
            return .array(elements.map(\.precomposed))
        case .object(let object):
            var out: [String: JSONValue] = [:]
            out.reserveCapacity(object.count)
            for (key, value) in object { out[key.precomposedStringWithCanonicalMapping] = value.precomposed }
            return .object(out)
        case .null, .bool, .int, .double:
            return self
        }
    }
}

/// A comparison value: the JSON literals RFC 7644's `compValue` allows.
public enum SCIMValue: Sendable, Equatable, Hashable, CustomStringConvertible {
    case string(String)
    /// A number written without fraction or exponent that fits in 64 bits. Kept apart from
    /// `double` so that `externalId eq 12345678901234567` does not lose digits.
    case integer(Int64)
    /// Any other (finite) JSON number.
    case double(Double)
    case bool(Bool)
    case null

    /// The value as filter text; parsing it yields the same value.
    public var description: String {
        switch self {
        case .string(let string): return SCIMValue.quoted(string)
        case .integer(let integer): return String(integer)
        // Swift's shortest round-tripping form ("0.1", "1e+20", "3.0") is also valid JSON,
        // and keeps a fraction or exponent so it re-parses as a double, not an integer.
        case .double(let double): return double.description
        case .bool(let bool): return bool ? "true" : "false"
        case .null: return "null"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, everything
    /// else (including non-ASCII) written as itself.
    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }
}

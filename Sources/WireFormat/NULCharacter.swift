import Foundation

/// U+0000 in text a client sends. PostgreSQL stores no NUL in `text` (libpq reads parameters as C
/// strings, so everything from the NUL on would be dropped: `alice@example.com\u0000x` would be
/// looked up as `alice@example.com`) nor in `jsonb` (the `\u0000` escape fails there), so HTTP and
/// SCIM inputs holding one are refused with a 400 naming the field, before anything is stored.
public enum NULCharacter {
    /// Whether JSON text may hold U+0000: only as the escape `\u0000` (JSON has no other spelling
    /// for it; a raw 0x00 byte is not valid JSON, counted anyway). A false answer is certain, so
    /// the full walk of `path(in:)` runs only for bodies that have the bytes.
    public static func mayAppear(inJSON bytes: some Sequence<UInt8>) -> Bool {
        // The bytes of `\u0000`, matched as a running prefix.
        let escape: [UInt8] = Array(#"\u0000"#.utf8)
        var matched = 0
        for byte in bytes {
            if byte == 0 { return true }
            if byte == escape[matched] {
                matched += 1
                if matched == escape.count { return true }
            } else {
                matched = byte == escape[0] ? 1 : 0
            }
        }
        return false
    }

    /// Whether `text` holds U+0000. By its bytes: a NUL followed by a combining mark is one
    /// `Character`, which `String.contains("\0")` does not find.
    public static func isIn(_ text: some StringProtocol) -> Bool {
        text.utf8.contains(0)
    }

    /// `text` with every U+0000 replaced by U+FFFD: for text that is kept rather than refused (a
    /// daemon's log lines and errors). Scalar by scalar, for the reason `isIn` gives.
    public static func replaced(in text: String) -> String {
        guard isIn(text) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(scalar.value == 0 ? "\u{FFFD}" : scalar) }
        return String(scalars)
    }

    /// Where the first string or key holding U+0000 is in `value`: `emails[0].value`, or `""` for
    /// the value itself; nil when there is none.
    public static func path(in value: JSONValue) -> String? {
        switch value {
        case .string(let text):
            return isIn(text) ? "" : nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let inner = path(in: element) { return "[\(index)]" + (inner.isEmpty || inner.hasPrefix("[") ? inner : "." + inner) }
            }
            return nil
        case .object(let object):
            // Keys in a stable order, so that the field named does not vary between runs.
            for key in object.keys.sorted() {
                if isIn(key) { return key.replacingOccurrences(of: "\u{0}", with: "\\u0000") }
                if let inner = path(in: object[key]!) { return key + (inner.isEmpty || inner.hasPrefix("[") ? inner : "." + inner) }
            }
            return nil
        case .null, .bool, .int, .double:
            return nil
        }
    }
}

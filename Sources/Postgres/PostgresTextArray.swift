/// One-dimensional text[] literals: `{a,"b c",NULL}`. NULL elements are not representable in `[String]`
/// and are rejected rather than silently turned into strings.
enum PostgresTextArray {
    static func format(_ values: [String]) -> String {
        var out = "{"
        for (i, value) in values.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for c in value.unicodeScalars {
                if c == "\"" || c == "\\" { out += "\\" }
                out.unicodeScalars.append(c)
            }
            out += "\""
        }
        return out + "}"
    }

    static func parse(_ text: String) -> [String]? {
        // Over the UTF-8 bytes: the delimiters are ASCII, and an unquoted element (a uuid, a
        // timestamp: most arrays) becomes a String in one step, not scalar by scalar.
        let bytes = Array(text.utf8)
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), comma = UInt8(ascii: ",")
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else { return nil }
        var values: [String] = []
        var index = 1
        let end = bytes.count - 1
        if index == end { return [] }
        while index < end {
            if bytes[index] == quote {
                index += 1
                var value: [UInt8] = []
                while index < end, bytes[index] != quote {
                    if bytes[index] == backslash { index += 1; guard index < end else { return nil } }
                    value.append(bytes[index])
                    index += 1
                }
                guard index < end else { return nil }
                index += 1 // closing quote
                values.append(String(decoding: value, as: UTF8.self))
            } else {
                let start = index
                while index < end, bytes[index] != comma { index += 1 }
                let value = String(decoding: bytes[start..<index], as: UTF8.self)
                if value == "NULL" { return nil }
                values.append(value)
            }
            if index < end {
                guard bytes[index] == comma else { return nil }
                index += 1
            }
        }
        return values
    }
}

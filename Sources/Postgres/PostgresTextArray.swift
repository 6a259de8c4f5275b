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
        let chars = Array(text.unicodeScalars)
        guard chars.first == "{", chars.last == "}" else { return nil }
        var values: [String] = []
        var index = 1
        let end = chars.count - 1
        if index == end { return [] }
        while index < end {
            var value = String.UnicodeScalarView()
            if chars[index] == "\"" {
                index += 1
                while index < end, chars[index] != "\"" {
                    if chars[index] == "\\" { index += 1; guard index < end else { return nil } }
                    value.append(chars[index])
                    index += 1
                }
                guard index < end else { return nil }
                index += 1 // closing quote
            } else {
                while index < end, chars[index] != "," {
                    value.append(chars[index])
                    index += 1
                }
                if String(value) == "NULL" { return nil }
            }
            values.append(String(value))
            if index < end {
                guard chars[index] == "," else { return nil }
                index += 1
            }
        }
        return values
    }
}

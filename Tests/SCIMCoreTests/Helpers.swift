@testable import SCIMCore

/// Short spellings for expected trees, so the tables read like the filters they describe.
func path(_ text: String) -> SCIMAttributePath {
    var schema: String?
    var rest = Substring(text)
    if let colon = text.lastIndex(of: ":") {
        schema = String(text[..<colon])
        rest = text[text.index(after: colon)...]
    }
    let parts = rest.split(separator: ".", maxSplits: 1)
    return SCIMAttributePath(schema: schema, name: String(parts[0]), subAttribute: parts.count > 1 ? String(parts[1]) : nil)
}

func cmp(_ attribute: String, _ op: SCIMOperator, _ value: String) -> SCIMFilter {
    .compare(path(attribute), op, .string(value))
}

func cmp(_ attribute: String, _ op: SCIMOperator, _ value: SCIMValue) -> SCIMFilter {
    .compare(path(attribute), op, value)
}

func pr(_ attribute: String) -> SCIMFilter { .present(path(attribute)) }

/// A filter case: input and its expected tree.
struct Valid: Sendable, CustomStringConvertible {
    let text: String
    let expected: SCIMFilter
    init(_ text: String, _ expected: SCIMFilter) {
        self.text = text
        self.expected = expected
    }
    var description: String { text }
}

/// An invalid input, a fragment its message must contain and the offset it must report.
struct Invalid: Sendable, CustomStringConvertible {
    let text: String
    let message: String
    let offset: Int
    init(_ text: String, _ message: String, at offset: Int) {
        self.text = text
        self.message = message
        self.offset = offset
    }
    var description: String { text }
}


func parseError(_ text: String) -> SCIMFilterError? {
    do {
        _ = try SCIMFilter.parse(text)
        return nil
    } catch {
        return error
    }
}

extension SCIMFilter {
    /// Parses filter text (RFC 7644 §3.4.2.2). Operators, `and`/`or`/`not`, `true`/`false`/`null`
    /// and attribute names are case-insensitive; `not` binds tighter than `and`, which binds
    /// tighter than `or`. Throws, with what was expected where, on any syntax error or when the
    /// input exceeds `SCIMFilter.Limits`.
    public static func parse(_ text: String) throws(SCIMFilterError) -> SCIMFilter {
        var parser = try SCIMFilterParser(text)
        return try parser.parseFilterDocument()
    }
}

/// A recursive-descent parser over `SCIMFilterScanner`. Recursion happens only at parentheses,
/// `not` and value paths, each of which counts against `Limits.maximumDepth` before recursing,
/// so hostile input meets an error long before the stack runs out; `and`/`or` chains are loops.
struct SCIMFilterParser {
    private var scanner: SCIMFilterScanner
    private var depth = 0
    private var comparisons = 0
    /// Inside `attr[…]`: RFC 7644's `valFilter` has no nested value paths.
    private var inValuePath = false

    init(_ text: String) throws(SCIMFilterError) {
        // Checked before anything else so no work scales with an oversized input.
        let length = text.utf8.count
        guard length <= SCIMFilter.Limits.maximumLength else {
            throw SCIMFilterError(
                message: "input is \(length) bytes long; at most \(SCIMFilter.Limits.maximumLength) are allowed",
                offset: SCIMFilter.Limits.maximumLength)
        }
        scanner = SCIMFilterScanner(text)
    }

    // MARK: documents

    mutating func parseFilterDocument() throws(SCIMFilterError) -> SCIMFilter {
        scanner.skipWhitespace()
        if scanner.isAtEnd {
            throw SCIMFilterError(message: "empty filter: expected an attribute expression", offset: scanner.position)
        }
        let filter = try parseOr()
        scanner.skipWhitespace()
        if !scanner.isAtEnd {
            throw unexpected("expected 'and', 'or' or the end of the filter")
        }
        return filter
    }

    mutating func parsePathDocument() throws(SCIMFilterError) -> SCIMPath {
        scanner.skipWhitespace()
        if scanner.isAtEnd {
            throw SCIMFilterError(message: "empty path: expected an attribute path", offset: scanner.position)
        }
        let path: SCIMPath
        let attribute = try parseAttributePath()
        if scanner.current == UInt8(ascii: "[") {
            let filter = try parseValuePathBrackets(for: attribute)
            var subAttribute: String?
            if scanner.current == UInt8(ascii: ".") {
                scanner.position += 1
                let start = scanner.position
                let name = scanner.word()
                try Self.validateName(name, offset: start, after: "'.' after ']'")
                subAttribute = name
            }
            path = .valuePath(attribute.path, filter, subAttribute: subAttribute)
        } else {
            path = .attribute(attribute.path)
        }
        scanner.skipWhitespace()
        if !scanner.isAtEnd {
            throw unexpected("expected the end of the path")
        }
        return path
    }

    // MARK: expressions

    private mutating func parseOr() throws(SCIMFilterError) -> SCIMFilter {
        var lhs = try parseAnd()
        while consumeKeyword("or") {
            lhs = .or(lhs, try parseAnd())
        }
        return lhs
    }

    private mutating func parseAnd() throws(SCIMFilterError) -> SCIMFilter {
        var lhs = try parseNot()
        while consumeKeyword("and") {
            lhs = .and(lhs, try parseNot())
        }
        return lhs
    }

    private mutating func parseNot() throws(SCIMFilterError) -> SCIMFilter {
        scanner.skipWhitespace()
        let start = scanner.position
        // Only a whole word is the keyword: `notes pr` is the attribute `notes`.
        if scanner.peekWord().lowercased() == "not" {
            try enter(at: start)
            _ = scanner.word()
            let inner = try parseNot()
            depth -= 1
            return .not(inner)
        }
        return try parseAtom()
    }

    private mutating func parseAtom() throws(SCIMFilterError) -> SCIMFilter {
        scanner.skipWhitespace()
        let start = scanner.position
        guard let byte = scanner.current else {
            throw SCIMFilterError(message: "expected an attribute expression or '(', found the end of the filter", offset: start)
        }
        switch byte {
        case UInt8(ascii: "("):
            try enter(at: start)
            scanner.position += 1
            let inner = try parseOr()
            scanner.skipWhitespace()
            guard scanner.current == UInt8(ascii: ")") else {
                throw unexpected("expected ')' to close the '(' at offset \(start)")
            }
            scanner.position += 1
            depth -= 1
            return inner
        case UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\""):
            throw unexpected("expected an attribute expression or '('")
        default:
            break
        }
        let keyword = scanner.peekWord().lowercased()
        if keyword == "and" || keyword == "or" {
            // Checked only to word the error: `a pr and or b pr` is missing an operand.
            throw unexpected("expected an attribute expression before '\(keyword)'")
        }
        return try parseAttributeExpression()
    }

    /// `attr pr`, `attr op value` or `attr[filter]`.
    private mutating func parseAttributeExpression() throws(SCIMFilterError) -> SCIMFilter {
        let attribute = try parseAttributePath()
        if scanner.current == UInt8(ascii: "[") {
            return .valuePath(attribute.path, try parseValuePathBrackets(for: attribute))
        }
        comparisons += 1
        guard comparisons <= SCIMFilter.Limits.maximumComparisons else {
            throw SCIMFilterError(
                message: "too many comparisons: at most \(SCIMFilter.Limits.maximumComparisons) are allowed",
                offset: attribute.offset)
        }
        scanner.skipWhitespace()
        let operatorStart = scanner.position
        let keyword = scanner.word()
        if keyword.isEmpty {
            throw SCIMFilterError(
                message: "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '\(attribute.path)', found \(describe(at: operatorStart))",
                offset: operatorStart)
        }
        if keyword.lowercased() == "pr" {
            try rejectValue(after: "pr")
            return .present(attribute.path)
        }
        guard let op = SCIMOperator(keyword: keyword) else {
            throw SCIMFilterError(
                message: "unknown operator '\(keyword)': expected one of eq, ne, co, sw, ew, gt, ge, lt, le or pr",
                offset: operatorStart)
        }
        return .compare(attribute.path, op, try parseValue(after: keyword))
    }

    /// `[filter]` after a multi-valued attribute; the scanner is on the `[`.
    private mutating func parseValuePathBrackets(
        for attribute: (path: SCIMAttributePath, offset: Int)
    ) throws(SCIMFilterError) -> SCIMFilter {
        let start = scanner.position
        if inValuePath {
            throw SCIMFilterError(message: "value paths cannot be nested: '[' inside '[…]'", offset: start)
        }
        if attribute.path.subAttribute != nil {
            throw SCIMFilterError(
                message: "a value filter '[…]' applies to a multi-valued attribute, not the sub-attribute '\(attribute.path)'",
                offset: start)
        }
        try enter(at: start)
        scanner.position += 1
        inValuePath = true
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "]") {
            throw SCIMFilterError(message: "empty value filter: expected an attribute expression inside '[]'", offset: scanner.position)
        }
        let inner = try parseOr()
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "]") else {
            throw unexpected("expected ']' to close the '[' at offset \(start)")
        }
        scanner.position += 1
        inValuePath = false
        depth -= 1
        return inner
    }

    private mutating func parseValue(after op: String) throws(SCIMFilterError) -> SCIMValue {
        scanner.skipWhitespace()
        let start = scanner.position
        guard let byte = scanner.current else {
            throw SCIMFilterError(
                message: "expected a value (a string, number, true, false or null) after '\(op)', found the end of the filter",
                offset: start)
        }
        if byte == UInt8(ascii: "\"") {
            return .string(try scanner.string())
        }
        let word = scanner.word()
        switch word.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "null": return .null
        default: break
        }
        if let first = word.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) {
            return try SCIMFilterScanner.number(word, offset: start)
        }
        scanner.position = start
        throw SCIMFilterError(
            message: "expected a value (a string, number, true, false or null) after '\(op)', found \(describe(at: start))",
            offset: start)
    }

    /// `pr` takes no value; saying so beats the generic trailing-input error.
    private mutating func rejectValue(after op: String) throws(SCIMFilterError) {
        var lookahead = scanner
        lookahead.skipWhitespace()
        guard let byte = lookahead.current else { return }
        let word = lookahead.peekWord().lowercased()
        let isValue = byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39)
            || word == "true" || word == "false" || word == "null"
        if isValue {
            throw SCIMFilterError(message: "'\(op)' takes no value", offset: lookahead.position)
        }
    }

    // MARK: attribute paths

    /// `[schema ":"] name ["." sub]`, read as one word and then split, so the URN's own dots and
    /// colons (`…:core:2.0:User:userName`) need no lookahead: the attribute is what follows the
    /// last colon.
    private mutating func parseAttributePath() throws(SCIMFilterError) -> (path: SCIMAttributePath, offset: Int) {
        let start = scanner.position
        let word = scanner.word()
        if word.isEmpty {
            throw SCIMFilterError(message: "expected an attribute name, found \(describe(at: start))", offset: start)
        }
        var schema: String?
        var rest = Substring(word)
        var restOffset = start
        if let colon = word.lastIndex(of: ":") {
            let urn = String(word[..<colon])
            try Self.validateSchema(urn, offset: start)
            schema = urn
            rest = word[word.index(after: colon)...]
            restOffset = start + word.utf8.distance(from: word.startIndex, to: colon) + 1
            if rest.isEmpty {
                throw SCIMFilterError(message: "expected an attribute name after the schema URN '\(urn):'", offset: restOffset)
            }
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw SCIMFilterError(
                message: "attribute path '\(word)' has more than one sub-attribute: expected 'attribute' or 'attribute.subAttribute'",
                offset: start)
        }
        let name = String(parts[0])
        try Self.validateName(name, offset: restOffset, after: "the start of an attribute path")
        var subAttribute: String?
        if parts.count == 2 {
            let sub = String(parts[1])
            try Self.validateName(sub, offset: restOffset + name.utf8.count + 1, after: "'.'")
            subAttribute = sub
        }
        return (SCIMAttributePath(schema: schema, name: name, subAttribute: subAttribute), start)
    }

    /// RFC 7643 `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`; a leading
    /// `$` is also allowed because SCIM itself defines `$ref`.
    static func validateName(_ name: String, offset: Int, after place: String) throws(SCIMFilterError) {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else {
            throw SCIMFilterError(message: "expected an attribute name after \(place)", offset: offset)
        }
        guard isAlpha(first) || first == UInt8(ascii: "$") else {
            throw SCIMFilterError(message: "invalid attribute name '\(name)': it must start with a letter", offset: offset)
        }
        for (index, byte) in bytes.enumerated().dropFirst() where !(isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")) {
            throw SCIMFilterError(
                message: "invalid character in attribute name '\(name)': expected letters, digits, '-' or '_'",
                offset: offset + index)
        }
    }

    /// A schema URN as SCIM uses them: starts with a letter, then letters, digits and `.:-_`,
    /// with no empty segment (`urn::x`), which is always a typo.
    static func validateSchema(_ urn: String, offset: Int) throws(SCIMFilterError) {
        let bytes = Array(urn.utf8)
        guard let first = bytes.first, isAlpha(first) else {
            throw SCIMFilterError(message: "invalid schema URN '\(urn)': it must start with a letter", offset: offset)
        }
        var previous = first
        for (index, byte) in bytes.enumerated().dropFirst() {
            let allowed = isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
            guard allowed, !(byte == UInt8(ascii: ":") && previous == UInt8(ascii: ":")) else {
                throw SCIMFilterError(message: "invalid character in schema URN '\(urn)'", offset: offset + index)
            }
            previous = byte
        }
    }

    private static func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    // MARK: helpers

    /// Consumes `keyword` (any case, whole word, after optional whitespace) or leaves the
    /// position untouched.
    private mutating func consumeKeyword(_ keyword: String) -> Bool {
        var lookahead = scanner
        lookahead.skipWhitespace()
        guard lookahead.word().lowercased() == keyword else { return false }
        scanner = lookahead
        return true
    }

    /// One more level of nesting, refused past the limit before any recursion happens.
    private mutating func enter(at offset: Int) throws(SCIMFilterError) {
        depth += 1
        guard depth <= SCIMFilter.Limits.maximumDepth else {
            throw SCIMFilterError(
                message: "filter nests too deeply: at most \(SCIMFilter.Limits.maximumDepth) levels of parentheses, 'not' and '[…]' are allowed",
                offset: offset)
        }
    }

    /// An error at the current position: `expectation`, then what is actually there.
    private func unexpected(_ expectation: String) -> SCIMFilterError {
        SCIMFilterError(message: "\(expectation), found \(describe(at: scanner.position))", offset: scanner.position)
    }

    /// What the input holds at `offset`, for error messages: a word, a punctuation mark or the end.
    private func describe(at offset: Int) -> String {
        var lookahead = scanner
        lookahead.position = offset
        guard let byte = lookahead.current else { return "the end of the input" }
        if SCIMFilterScanner.isDelimiter(byte) {
            return byte == UInt8(ascii: "\"") ? "a string" : "'\(Character(Unicode.Scalar(byte)))'"
        }
        let word = lookahead.word()
        // Enough to recognise, short enough not to echo a hostile payload back whole.
        return word.count > 32 ? "'\(word.prefix(32))…'" : "'\(word)'"
    }
}

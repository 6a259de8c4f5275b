/// The lexical layer under `SCIMFilterParser`: it walks the UTF-8 bytes of the input and reads
/// words, JSON strings and JSON numbers. Working on bytes keeps offsets exact and makes every
/// step O(1); the parser decides what a word means where.
struct SCIMFilterScanner {
    let bytes: [UInt8]
    var position = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    var isAtEnd: Bool { position >= bytes.count }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, Self.isWhitespace(byte) { position += 1 }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Bytes that end a word. Everything else belongs to one, so that a stray `@` or `=` is
    /// reported as part of a bad attribute name or operator rather than as a puzzle.
    static func isDelimiter(_ byte: UInt8) -> Bool {
        isWhitespace(byte) || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")")
            || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "\"")
    }

    /// The maximal run of non-delimiter bytes at the current position (possibly empty).
    mutating func word() -> String {
        let start = position
        while let byte = current, !Self.isDelimiter(byte) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// The word at the current position, without consuming it.
    func peekWord() -> String {
        var copy = self
        return copy.word()
    }

    /// A JSON string literal; the scanner is on its opening quote.
    mutating func string() throws(SCIMFilterError) -> String {
        let start = position
        position += 1
        var out: [UInt8] = []
        while true {
            guard let byte = current else {
                throw SCIMFilterError(message: "unterminated string: expected a closing '\"'", offset: start)
            }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                // The input was a String, so the copied bytes are valid UTF-8 and the escapes
                // were appended as whole scalars: decoding repairs nothing.
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case 0..<0x20:
                throw SCIMFilterError(message: "control character in a string: escape it as \\u00XX", offset: position)
            default:
                out.append(byte)
                position += 1
            }
        }
    }

    /// One backslash escape; the scanner is on the backslash.
    private mutating func escape(into out: inout [UInt8]) throws(SCIMFilterError) {
        let start = position
        position += 1
        guard let byte = current else {
            throw SCIMFilterError(message: "unterminated string: expected an escape after '\\'", offset: start)
        }
        position += 1
        let simple: UInt8?
        switch byte {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default:
            // Only an ASCII byte is a whole character worth echoing.
            let shown = byte < 0x80 ? " '\\\(Unicode.Scalar(byte))'" : ""
            throw SCIMFilterError(
                message: "invalid escape\(shown) in a string: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                offset: start)
        }
        if let simple {
            out.append(simple)
            return
        }
        let unit = try hex4(escapeStart: start)
        let scalarValue: UInt32
        switch unit {
        case 0xD800...0xDBFF:
            // A high surrogate must be followed by `\u` and a low one; together they are one scalar.
            let lowStart = position
            guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                throw SCIMFilterError(message: "unpaired surrogate in \\u escape: expected a \\uDC00–\\uDFFF escape next", offset: start)
            }
            position += 2
            let low = try hex4(escapeStart: lowStart)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw SCIMFilterError(message: "unpaired surrogate in \\u escape: expected a \\uDC00–\\uDFFF escape next", offset: lowStart)
            }
            scalarValue = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        case 0xDC00...0xDFFF:
            throw SCIMFilterError(message: "unpaired surrogate in \\u escape", offset: start)
        default:
            scalarValue = unit
        }
        guard let scalar = Unicode.Scalar(scalarValue) else {
            throw SCIMFilterError(message: "invalid \\u escape", offset: start)
        }
        UTF8.encode(scalar) { out.append($0) }
    }

    /// The four hex digits after `\u`.
    private mutating func hex4(escapeStart: Int) throws(SCIMFilterError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current, let digit = Self.hexValue(byte) else {
                throw SCIMFilterError(message: "invalid \\u escape: expected four hex digits", offset: escapeStart)
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// A JSON number, given as the word that was read at `offset`. Strict JSON syntax
    /// (no `+5`, `.5`, `05`, `5.`), so what a client sends means one thing only.
    static func number(_ word: String, offset: Int) throws(SCIMFilterError) -> SCIMValue {
        let digits = Array(word.utf8)
        var index = 0
        func isDigit(_ i: Int) -> Bool { i < digits.count && digits[i] >= 0x30 && digits[i] <= 0x39 }
        let invalid = SCIMFilterError(message: "invalid number '\(word)': expected a JSON number", offset: offset)
        if index < digits.count, digits[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw invalid }
        if digits[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        var isInteger = true
        if index < digits.count, digits[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard isDigit(index) else { throw invalid }
            while isDigit(index) { index += 1 }
        }
        if index < digits.count, digits[index] == UInt8(ascii: "e") || digits[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < digits.count, digits[index] == UInt8(ascii: "+") || digits[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw invalid }
            while isDigit(index) { index += 1 }
        }
        guard index == digits.count else { throw invalid }
        // An integer too large for Int64 is still a valid JSON number; it becomes a double.
        if isInteger, let integer = Int64(word) { return .integer(integer) }
        guard let double = Double(word), double.isFinite else {
            throw SCIMFilterError(message: "number '\(word)' is out of range", offset: offset)
        }
        return .double(double)
    }
}

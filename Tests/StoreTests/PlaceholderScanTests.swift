import Foundation
import Testing

/// Every statement in `Store/` binds its values by interpolation (`SQL`), so no `$n` placeholder is
/// numbered by hand: this reads the string literals of every Store source file outside the
/// migrations (which run fixed DDL) and fails on one that holds `$` and a digit.
@Suite struct PlaceholderScanTests {
    static let storeSources: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Store")

    static func swiftFiles() throws -> [URL] {
        let enumerator = try #require(FileManager.default.enumerator(at: storeSources, includingPropertiesForKeys: nil))
        return enumerator.compactMap { $0 as? URL }
            .filter { $0.pathExtension == "swift" && !$0.pathComponents.contains("Migrations") }
            .sorted { $0.path < $1.path }
    }

    @Test func noStoreQueryNumbersItsPlaceholdersByHand() throws {
        let files = try Self.swiftFiles()
        #expect(files.count > 20, "found only \(files.count) Store sources under \(Self.storeSources.path)")
        var offenders: [String] = []
        var literals = 0
        for file in files {
            let source = try String(contentsOf: file, encoding: .utf8)
            for literal in StringLiterals.of(source) {
                literals += 1
                if literal.text.range(of: #"\$[0-9]"#, options: .regularExpression) != nil {
                    offenders.append("\(file.lastPathComponent):\(literal.line): \(literal.text.prefix(120))")
                }
            }
        }
        #expect(literals > 100, "read only \(literals) string literals")
        #expect(offenders.isEmpty, "hand-numbered placeholders:\n\(offenders.joined(separator: "\n"))")
    }

    @Test func theScannerFindsPlaceholdersInEveryKindOfLiteral() {
        let source = #"""
            let a = "SELECT 1 WHERE id = $1" // "$2 in a comment"
            /* "$3 in a block comment" */
            let b = """
                UPDATE t SET x = \(value) WHERE y = $4
                """
            let c = #"raw $5"#
            let d = items.map { $0.id } + "\(f { $0 })"
            """#
        let texts = StringLiterals.of(source).map(\.text)
        let flagged = texts.filter { $0.range(of: #"\$[0-9]"#, options: .regularExpression) != nil }
        #expect(flagged.count == 3, "\(texts)")
        #expect(flagged.contains { $0.contains("$1") } && flagged.contains { $0.contains("$4") } && flagged.contains { $0.contains("$5") })
    }
}

/// The string literals of a Swift source, without their interpolations' code (so `\(xs.map { $0 })`
/// is not text) and without comments: enough of Swift's lexer for the scan above.
enum StringLiterals {
    struct Literal {
        var text: String
        var line: Int
    }

    static func of(_ source: String) -> [Literal] {
        let chars = Array(source)
        var literals: [Literal] = []
        var index = 0
        var line = 1

        func peek(_ offset: Int = 0) -> Character? {
            index + offset < chars.count ? chars[index + offset] : nil
        }
        func advance() {
            if chars[index] == "\n" { line += 1 }
            index += 1
        }
        /// Skips the code of an interpolation, from after `\(` to its closing parenthesis,
        /// including any literal nested in it.
        func skipInterpolation() {
            var depth = 1
            while index < chars.count, depth > 0 {
                if chars[index] == "\"" {
                    _ = readLiteral()
                    continue
                }
                if chars[index] == "(" { depth += 1 }
                if chars[index] == ")" { depth -= 1 }
                advance()
            }
        }
        /// Reads a literal starting at `index` (at its `#`s or its opening quote).
        func readLiteral() -> Literal {
            let startLine = line
            var hashes = 0
            while peek() == "#" { hashes += 1; advance() }
            let multiline = peek() == "\"" && peek(1) == "\"" && peek(2) == "\""
            for _ in 0..<(multiline ? 3 : 1) { advance() }
            let closing = String(repeating: "\"", count: multiline ? 3 : 1) + String(repeating: "#", count: hashes)
            let escape = "\\" + String(repeating: "#", count: hashes)
            var text = ""
            while index < chars.count {
                if String(chars[index..<min(chars.count, index + closing.count)]) == closing {
                    for _ in 0..<closing.count { advance() }
                    break
                }
                if String(chars[index..<min(chars.count, index + escape.count)]) == escape {
                    for _ in 0..<escape.count { advance() }
                    if peek() == "(" {
                        advance()
                        skipInterpolation()
                    } else if index < chars.count {
                        advance()
                    }
                    continue
                }
                text.append(chars[index])
                advance()
            }
            return Literal(text: text, line: startLine)
        }

        while index < chars.count {
            let char = chars[index]
            if char == "/", peek(1) == "/" {
                while index < chars.count, chars[index] != "\n" { advance() }
            } else if char == "/", peek(1) == "*" {
                while index < chars.count, !(chars[index] == "*" && peek(1) == "/") { advance() }
                if index < chars.count { advance(); advance() }
            } else if char == "\"" || (char == "#" && (peek(1) == "\"" || peek(1) == "#")) {
                literals.append(readLiteral())
            } else {
                advance()
            }
        }
        return literals
    }
}

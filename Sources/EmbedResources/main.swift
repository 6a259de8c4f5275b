import Foundation

// Writes a Swift file holding the given text files as string literals, so a target serves them
// from its binary with no resource bundle to ship beside it, and each file lives once in the
// tree. Run by the EmbedResourcesPlugin build-tool plugin:
//
//     EmbedResources <output.swift> <target directory> <file>...
//
// Each file becomes one raw multi-line literal, keyed by its path below the target: a few large
// literals compile in seconds, where SwiftPM's `.embedInCode` (a byte-array literal) takes minutes
// for the 260 kB OpenAPI document (docs/benchmarks.md).

struct EmbedFailure: Error, CustomStringConvertible {
    var description: String
}

func literal(_ text: String) -> String {
    // With one more `#` than the longest run in the text, neither the closing delimiter nor an
    // escape can occur inside it: the literal is the text, byte for byte.
    var longest = 0
    var run = 0
    for character in text.unicodeScalars {
        run = character == "#" ? run + 1 : 0
        longest = max(longest, run)
    }
    let hashes = String(repeating: "#", count: longest + 1)
    // A multi-line literal drops the newline before its closing delimiter: add one, so a file's
    // own final newline is kept.
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: EmbedResources <output.swift> <target directory> <file>...\n".utf8))
    exit(2)
}
let output = URL(fileURLWithPath: arguments[arguments.startIndex])
let base = URL(fileURLWithPath: arguments[arguments.startIndex + 1]).standardizedFileURL.path + "/"
var entries: [String] = []
for path in arguments.dropFirst(2).sorted() {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    guard url.path.hasPrefix(base) else { throw EmbedFailure(description: "\(path) is not below \(base)") }
    let key = String(url.path.dropFirst(base.count))
    let data = try Data(contentsOf: url)
    guard let text = String(data: data, encoding: .utf8), !text.contains("\r") else {
        throw EmbedFailure(description: "\(key) is not UTF-8 text with LF line ends: only text is embedded")
    }
    entries.append("        \(String(reflecting: key)): \(literal(text)),\n")
}
let swift = """
    // Generated at build time by the EmbedResourcesPlugin from this target's files that are not
    // Swift source: edit those files, never this one.

    enum EmbeddedResources {
        /// Each embedded file's text, keyed by its path below the target's directory.
        static let texts: [String: String] = [
    \(entries.joined())    ]
    }

    """
try Data(swift.utf8).write(to: output, options: .atomic)

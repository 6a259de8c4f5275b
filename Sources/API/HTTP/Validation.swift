import Foundation

/// Collects per-field problems so that a request learns about all of them at once.
struct Validator {
    private(set) var problems: [APIError.Validation] = []

    mutating func fail(_ field: String, tag: String, value: String) {
        problems.append(.init(field: field, detail: "Validation failed for tag \"\(tag)\" with value: \"\(value)\""))
    }

    mutating func fail(_ field: String, detail: String) {
        problems.append(.init(field: field, detail: detail))
    }

    /// A present, non-empty string; reports "required" and returns nil otherwise.
    mutating func required(_ field: String, _ value: String?) -> String? {
        guard let value, !value.isEmpty else {
            fail(field, tag: "required", value: value ?? "")
            return nil
        }
        return value
    }

    mutating func username(_ field: String, _ value: String?) -> String? {
        guard let value = required(field, value) else { return nil }
        guard Names.isValidUsername(value) else {
            fail(field, tag: "username", value: value)
            return nil
        }
        return value
    }

    mutating func email(_ field: String, _ value: String?) -> String? {
        guard let value = required(field, value) else { return nil }
        guard Names.isValidEmail(value) else {
            fail(field, tag: "email", value: value)
            return nil
        }
        return value
    }

    func check() throws {
        if !problems.isEmpty { throw APIError.validationFailed(problems) }
    }
}

enum Names {
    /// Coder's rule: 1–32 characters, letters and digits in groups joined by single hyphens,
    /// and not a word the API gives a meaning of its own.
    static func isValidUsername(_ name: String) -> Bool {
        guard (1...32).contains(name.count), !["me", "new", "create"].contains(name.lowercased()) else { return false }
        var previousWasHyphen = true // no leading hyphen
        for c in name.unicodeScalars {
            if c == "-" {
                if previousWasHyphen { return false }
                previousWasHyphen = true
            } else if c.isASCII, c.properties.isAlphabetic || ("0"..."9").contains(c) {
                previousWasHyphen = false
            } else {
                return false
            }
        }
        return !previousWasHyphen
    }

    /// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no spaces.
    static func isValidEmail(_ email: String) -> Bool {
        guard email.count <= 254, !email.contains(where: { $0.isWhitespace || $0.isNewline }) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
    }
}

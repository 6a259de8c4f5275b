/// Coder's search-query syntax (`coderd/searchquery.searchTerms`): `key:value` terms separated by
/// spaces, values may be quoted (`target:"two words"`), keys are case-insensitive, and the terms
/// without a key are joined with spaces into one value for the resource's default key (or, with
/// none, into `bare`, for a resource that splits them itself, as workspaces split `owner/name`).
/// The first value of a key counts, as Go's `url.Values.Get`.
struct SearchQuery {
    /// Key → its values, in the order given.
    private(set) var values: [String: [String]] = [:]
    /// Without a `defaultKey`, the elements without a key, quotes kept, in order (each one Coder
    /// hands to a resource's default-key function): the terms without a colon joined with spaces,
    /// after any whose colon is quoted.
    private(set) var bare: [String] = []
    /// Keys a resource's parser has asked for; anything else is refused (`excessKeys`).
    private var asked: Set<String> = []

    /// Splits `query`; a malformed element (`:x`, `x:`, `a:b:c`) is Coder's validation on `q`.
    init(_ query: String, defaultKey: String?) throws(SearchQueryError) {
        let tokens = Self.split(query, on: " ", keepingQuotes: true)
        var elements = tokens.filter { $0.contains(":") }
        let keyless = tokens.filter { !$0.contains(":") }
        if !keyless.isEmpty { elements.append(keyless.joined(separator: " ")) }
        for element in elements {
            if element.hasPrefix(":") || element.hasSuffix(":") {
                throw SearchQueryError(field: "q", detail: "Query element \"\(element)\" cannot start or end with ':'")
            }
            let parts = Self.split(element, on: ":", keepingQuotes: false)
            switch parts.count {
            case 1:
                if let defaultKey { values[defaultKey, default: []].append(parts[0]) } else { bare.append(element) }
            case 2: values[parts[0].lowercased(), default: []].append(parts[1])
            default: throw SearchQueryError(field: "q", detail: "Query element \"\(element)\" can only contain 1 ':'")
            }
        }
    }

    /// The value of `key`, nil when it is absent or empty; marks `key` as one the resource knows.
    mutating func value(_ key: String) -> String? {
        asked.insert(key)
        guard let first = values[key]?.first, !first.isEmpty else { return nil }
        return first
    }

    /// Coder's `ErrorExcessParams`: one validation per key nobody asked for (sorted, so the
    /// answer does not depend on dictionary order).
    var excessKeys: [String] {
        values.keys.filter { !asked.contains($0) }.sorted()
    }

    /// Go's `strings.FieldsFunc` on `delimiter` outside double quotes: empty fields vanish.
    /// Without `keepingQuotes`, quotes around each field are dropped (`strings.Trim(part, "\"")`).
    static func split(_ text: String, on delimiter: Character, keepingQuotes: Bool) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if !quoted && character == delimiter {
                if !current.isEmpty { parts.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { parts.append(current) }
        guard !keepingQuotes else { return parts }
        return parts.map { part in
            var trimmed = Substring(part)
            while trimmed.first == "\"" { trimmed.removeFirst() }
            while trimmed.last == "\"" { trimmed.removeLast() }
            return String(trimmed)
        }
    }
}

/// A search query that does not split into terms: one validation, on `q`.
struct SearchQueryError: Error {
    let field: String
    let detail: String
}

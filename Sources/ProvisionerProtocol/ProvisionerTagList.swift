/// Tags as both ends write them, `key=value` (split on the first `=`), checked against
/// `ProvisionerLimits`: the daemon's command line and the serve endpoint parse them the same way.
public enum ProvisionerTagList {
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// Coder's message for a tag without `=`.
        case malformed(String)
        case tooMany(Int)
        case tooLong(String)
        case forbiddenCharacter(String)

        public var description: String {
            switch self {
            case .malformed(let tag): "Invalid format for tag \"\(tag)\". Key and value must be separated with =."
            case .tooMany(let count): "\(count) tags given; at most \(ProvisionerLimits.maxTags) are accepted."
            case .tooLong(let key): "Tag \"\(key.prefix(64))\" is too long: keys may have \(ProvisionerLimits.maxTagKeyBytes) bytes and values \(ProvisionerLimits.maxTagValueBytes)."
            case .forbiddenCharacter(let key): "Tag \"\(key.prefix(64))\" contains a NUL or control character."
            }
        }
    }

    public static func parse(_ raw: [String]) throws(Problem) -> [String: String] {
        var tags: [String: String] = [:]
        for tag in raw {
            let parts = tag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else { throw .malformed(tag) }
            tags[String(parts[0])] = String(parts[1])
        }
        try check(tags)
        return tags
    }

    /// The limits, for tags that arrive as a JSON object (a template version's).
    public static func check(_ tags: [String: String]) throws(Problem) {
        guard tags.count <= ProvisionerLimits.maxTags else { throw .tooMany(tags.count) }
        for (key, value) in tags {
            guard key.utf8.count <= ProvisionerLimits.maxTagKeyBytes, value.utf8.count <= ProvisionerLimits.maxTagValueBytes else {
                throw .tooLong(key)
            }
            guard !(key + value).unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw .forbiddenCharacter(key)
            }
        }
    }
}

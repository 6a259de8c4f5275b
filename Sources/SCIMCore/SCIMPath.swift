/// The `path` of a SCIM PATCH operation (RFC 7644 §3.5.2): an attribute, or a filter picking
/// elements of a multi-valued attribute, optionally narrowed to one of their sub-attributes.
public enum SCIMPath: Sendable, Equatable, CustomStringConvertible {
    /// `userName`, `name.familyName`, `urn:…:enterprise:2.0:User:manager`.
    case attribute(SCIMAttributePath)
    /// `members[value eq "5f1a…"]` or `emails[type eq "work"].value`. The attribute never has
    /// a sub-attribute of its own; `subAttribute` is the one after the bracket.
    case valuePath(SCIMAttributePath, SCIMFilter, subAttribute: String?)

    /// Parses a PATCH path, under the same limits as `SCIMFilter.parse`.
    public static func parse(_ text: String) throws(SCIMFilterError) -> SCIMPath {
        var parser = try SCIMFilterParser(text)
        return try parser.parsePathDocument()
    }

    public var description: String {
        switch self {
        case .attribute(let path):
            return path.description
        case .valuePath(let path, let filter, let subAttribute):
            return "\(path)[\(filter)]" + (subAttribute.map { "." + $0 } ?? "")
        }
    }
}

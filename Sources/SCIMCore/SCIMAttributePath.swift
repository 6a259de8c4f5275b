/// An attribute reference: `userName`, `name.familyName`, or one qualified by its schema,
/// `urn:ietf:params:scim:schemas:core:2.0:User:userName` (RFC 7644 `attrPath`).
///
/// Attribute names are case-insensitive (RFC 7643 §2.1), so equality and hashing ignore case
/// while the original spelling is kept for printing. Schema URNs compare case-insensitively
/// too: identity providers are inconsistent about `User` versus `user`.
public struct SCIMAttributePath: Sendable, Hashable, CustomStringConvertible {
    /// The schema URN without the trailing colon, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    public var schema: String?
    public var name: String
    public var subAttribute: String?

    public init(schema: String? = nil, name: String, subAttribute: String? = nil) {
        self.schema = schema
        self.name = name
        self.subAttribute = subAttribute
    }

    public static func == (lhs: SCIMAttributePath, rhs: SCIMAttributePath) -> Bool {
        lhs.schema?.lowercased() == rhs.schema?.lowercased()
            && lhs.name.lowercased() == rhs.name.lowercased()
            && lhs.subAttribute?.lowercased() == rhs.subAttribute?.lowercased()
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(schema?.lowercased())
        hasher.combine(name.lowercased())
        hasher.combine(subAttribute?.lowercased())
    }

    public var description: String {
        var out = ""
        if let schema { out += schema + ":" }
        out += name
        if let subAttribute { out += "." + subAttribute }
        return out
    }
}

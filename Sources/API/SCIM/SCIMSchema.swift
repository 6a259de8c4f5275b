import Foundation
import WireFormat

/// One attribute of a SCIM schema (RFC 7643 §7), as `/Schemas` publishes it and as request
/// bodies are checked against it: the one description of what a resource holds.
struct SCIMAttribute: Sendable, Encodable {
    enum DataType: String, Sendable, Encodable { case string, boolean, decimal, integer, dateTime, reference, complex }
    enum Mutability: String, Sendable, Encodable { case readOnly, readWrite, immutable, writeOnly }
    enum Returned: String, Sendable, Encodable { case always, never, `default`, request }
    enum Uniqueness: String, Sendable, Encodable { case none, server, global }

    var name: String
    var type: DataType
    var multiValued = false
    var description: String
    var required = false
    var caseExact = false
    var mutability: Mutability = .readWrite
    var returned: Returned = .default
    var uniqueness: Uniqueness = .none
    var canonicalValues: [String]? = nil
    var referenceTypes: [String]? = nil
    var subAttributes: [SCIMAttribute]? = nil

    /// The sub-attribute `name`, case-insensitively (RFC 7643 §2.1).
    func subAttribute(_ name: String) -> SCIMAttribute? {
        subAttributes?.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    static func string(_ name: String, _ description: String, caseExact: Bool = false, mutability: Mutability = .readWrite, required: Bool = false, uniqueness: Uniqueness = .none, canonical: [String]? = nil) -> SCIMAttribute {
        SCIMAttribute(name: name, type: .string, description: description, required: required, caseExact: caseExact, mutability: mutability, uniqueness: uniqueness, canonicalValues: canonical)
    }

    static func boolean(_ name: String, _ description: String, mutability: Mutability = .readWrite) -> SCIMAttribute {
        SCIMAttribute(name: name, type: .boolean, description: description, mutability: mutability)
    }

    static func reference(_ name: String, _ description: String, types: [String], mutability: Mutability = .readWrite) -> SCIMAttribute {
        SCIMAttribute(name: name, type: .reference, description: description, caseExact: true, mutability: mutability, referenceTypes: types)
    }

    static func complex(_ name: String, _ description: String, multiValued: Bool = false, mutability: Mutability = .readWrite, _ subAttributes: [SCIMAttribute]) -> SCIMAttribute {
        SCIMAttribute(name: name, type: .complex, multiValued: multiValued, description: description, mutability: mutability, subAttributes: subAttributes)
    }

    /// RFC 7643's usual `value`/`display`/`type`/`primary` element of a multi-valued attribute.
    static func typedValues(_ name: String, _ description: String, types: [String], valueType: DataType = .string, mutability: Mutability = .readWrite) -> SCIMAttribute {
        complex(name, description, multiValued: true, mutability: mutability, [
            SCIMAttribute(name: "value", type: valueType, description: "The value.", mutability: mutability),
            string("display", "A human-readable name, primarily used for display purposes.", mutability: mutability),
            string("type", "A label indicating the attribute's function.", mutability: mutability, canonical: types),
            boolean("primary", "Whether this is the preferred value (at most one is).", mutability: mutability),
        ])
    }
}

/// A schema: its URN, name and attributes.
struct SCIMSchema: Sendable {
    var id: String
    var name: String
    var description: String
    var attributes: [SCIMAttribute]

    func attribute(_ name: String) -> SCIMAttribute? {
        attributes.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    struct Document: Encodable, Sendable {
        struct Meta: Encodable, Sendable {
            let resourceType = "Schema"
            let location: String
        }
        let schemas = ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        let id: String
        let name: String
        let description: String
        let attributes: [SCIMAttribute]
        let meta: Meta
    }

    func document(base: String) -> Document {
        Document(id: id, name: name, description: description, attributes: attributes, meta: .init(location: "\(base)/Schemas/\(id)"))
    }
}

extension SCIMSchema {
    static let userURN = "urn:ietf:params:scim:schemas:core:2.0:User"
    static let enterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    static let groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"

    /// RFC 7643 §4.1 as this server keeps it: everything but `password` (the product's SCIM users
    /// sign in through the IdP), `x509Certificates` and the read-only `groups`.
    static let user = SCIMSchema(id: userURN, name: "User", description: "A product user.", attributes: [
        .string("userName", "Unique identifier for the user, as the IdP knows it; case-insensitive.", required: true, uniqueness: .server),
        .complex("name", "The components of the user's real name.", [
            .string("formatted", "The full name, formatted for display."),
            .string("familyName", "The family name."),
            .string("givenName", "The given name."),
            .string("middleName", "The middle name(s)."),
            .string("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
            .string("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
        ]),
        .string("displayName", "The name of the user, suitable for display."),
        .string("nickName", "The casual way to address the user."),
        .reference("profileUrl", "A URI of the user's online profile.", types: ["external"]),
        .string("title", "The user's title, such as \"Vice President\"."),
        .string("userType", "The relationship between the organization and the user."),
        .string("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 Accept-Language)."),
        .string("locale", "The user's default location, for localizing (e.g. en-US)."),
        .string("timezone", "The user's time zone, in the IANA Time Zone database format."),
        .boolean("active", "Whether the user may sign in: false suspends the product user."),
        .typedValues("emails", "Email addresses; the primary one (else the first) is the product user's email.", types: ["work", "home", "other"]),
        .typedValues("phoneNumbers", "Phone numbers.", types: ["work", "home", "mobile", "fax", "pager", "other"]),
        .typedValues("ims", "Instant messaging addresses.", types: ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        .typedValues("photos", "URLs of photos of the user.", types: ["photo", "thumbnail"], valueType: .reference),
        .complex("addresses", "Physical mailing addresses.", multiValued: true, [
            .string("formatted", "The full mailing address, formatted for display."),
            .string("streetAddress", "The full street address."),
            .string("locality", "The city or locality."),
            .string("region", "The state or region."),
            .string("postalCode", "The zip code or postal code."),
            .string("country", "The country name (ISO 3166-1 alpha-2)."),
            .string("type", "A label indicating the attribute's function.", canonical: ["work", "home", "other"]),
            .boolean("primary", "Whether this is the preferred mailing address."),
        ]),
        .typedValues("entitlements", "Entitlements of the user.", types: []),
        .typedValues("roles", "The product's site roles of the user (owner, template-admin, user-admin, auditor; member is implied); read-only over SCIM.", types: [], mutability: .readOnly),
    ])

    /// RFC 7643 §4.3.
    static let enterpriseUser = SCIMSchema(id: enterpriseUserURN, name: "EnterpriseUser", description: "Enterprise user attributes.", attributes: [
        .string("employeeNumber", "A string identifier, typically numeric or alphanumeric, assigned to a person."),
        .string("costCenter", "The name of a cost center."),
        .string("organization", "The name of an organization."),
        .string("division", "The name of a division."),
        .string("department", "The name of a department."),
        .complex("manager", "The user's manager.", [
            .string("value", "The id of the SCIM resource representing the user's manager.", caseExact: true),
            .reference("$ref", "The URI of the manager's SCIM resource.", types: ["User"]),
            .string("displayName", "The displayName of the user's manager.", mutability: .readOnly),
        ]),
    ])

    /// RFC 7643 §4.2, mapped to the default organization's groups.
    static let group = SCIMSchema(id: groupURN, name: "Group", description: "A group of the default organization.", attributes: [
        .string("displayName", "The group's name (unique in the organization).", required: true, uniqueness: .server),
        .complex("members", "The users in the group.", multiValued: true, [
            .string("value", "The id of a member (a User).", caseExact: true, mutability: .immutable),
            .reference("$ref", "The URI of the member's resource.", types: ["User"], mutability: .immutable),
            .string("display", "The member's userName.", mutability: .readOnly),
            .string("type", "The type of the member.", mutability: .immutable, canonical: ["User"]),
        ]),
    ])

    static let all = [user, enterpriseUser, group]
}

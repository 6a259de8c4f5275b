import Foundation
import Postgres
import SCIMCore
import WireFormat

/// A product user as SCIM sees it (RFC 7643 §4.1): the user, and what an IdP said about it.
public struct SCIMUser: Sendable, Equatable {
    public var user: User
    /// The SCIM `userName`: as the IdP sent it once linked, the product username before.
    public var userName: String
    public var externalID: String?
    /// Every other writable attribute the IdP sent (`name`, `displayName`, `emails`, …, and the
    /// enterprise extension under its URN), as sent after validation.
    public var attributes: [String: JSONValue]
    /// Whether SCIM has created or linked this user.
    public var isLinked: Bool
    /// `meta.version`: moves on every change of the user (its `updated_at`, in microseconds).
    public var version: Int64
}

/// What an IdP asks a user to be (POST, PUT, or the result of a PATCH).
public struct SCIMUserWrite: Sendable, Equatable {
    public var userName: String
    public var externalID: String?
    public var attributes: [String: JSONValue]
    /// nil: leave the status as it is (a PUT without `active`).
    public var active: Bool?
    /// The email the product user gets: the primary one, else the first.
    public var email: String?

    public init(userName: String, externalID: String?, attributes: [String: JSONValue], active: Bool?, email: String?) {
        self.userName = userName
        self.externalID = externalID
        self.attributes = attributes
        self.active = active
        self.email = email
    }
}

/// A page of a SCIM list: 1-based `startIndex` and `count` as RFC 7644 §3.4.2.4 has them.
public struct SCIMListRequest: Sendable {
    public var filter: SCIMFilter?
    public var sortBy: SCIMAttributePath?
    public var descending: Bool
    public var startIndex: Int
    public var count: Int

    public init(filter: SCIMFilter?, sortBy: SCIMAttributePath?, descending: Bool, startIndex: Int, count: Int) {
        self.filter = filter
        self.sortBy = sortBy
        self.descending = descending
        self.startIndex = startIndex
        self.count = count
    }

    /// The rows before the page: `startIndex - 1`, 0 for any index below 1 (never a trap).
    var offset: Int { startIndex > 0 ? startIndex - 1 : 0 }
}

/// What a SCIM write found in the way.
public enum SCIMWriteError: Error, Sendable, Equatable {
    /// `If-Match` named a version that is no longer current.
    case versionMismatch
}

/// The SCIM statements over `users u`.
enum SCIMUsers {
    static let constraintFields = ["users_scim_user_name_key": "userName", "users_email_key": "email", "users_username_key": "username"]

    static let userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"
    static let enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

    static let userName: SQL = "coalesce(u.scim_user_name, u.username)"
    /// The stored emails once an IdP has sent some; before, the product email as the primary one.
    static let emails: SQL = "(CASE WHEN u.scim_attributes ? 'emails' THEN u.scim_attributes->'emails' ELSE jsonb_build_array(jsonb_build_object('value', u.email, 'primary', true)) END)"

    static let columns: SQL = """
        \(Users.columns), \(userName) AS scim_user_name, u.scim_external_id, u.scim_attributes,
        u.scim_user_name IS NOT NULL AS scim_linked, (extract(epoch FROM u.updated_at) * 1000000)::bigint AS scim_version
        """

    static func scimUser(_ row: PostgresRow) throws -> SCIMUser {
        SCIMUser(
            user: try Users.user(row),
            userName: try row.decode("scim_user_name"),
            externalID: try row.decode("scim_external_id"),
            attributes: try row.decodeJSON("scim_attributes", as: [String: JSONValue].self),
            isLinked: try row.decode("scim_linked"),
            version: try row.decode("scim_version")
        )
    }

    /// Who SCIM sees: members of the default organization not deprovisioned over SCIM.
    static func visible(_ organizationID: UUID) -> SQL {
        """
        u.scim_deprovisioned_at IS NULL
        AND EXISTS (SELECT 1 FROM organization_members m WHERE m.user_id = u.id AND m.organization_id = \(organizationID))
        """
    }

    /// `path`: a fixed path of the table below, written into the statement.
    private static func text(_ path: String) -> SCIMColumn {
        SCIMColumn(expression: "(u.scim_attributes #>> '{\(unescaped: path)}')", kind: .string(caseExact: false))
    }

    static let resource = SCIMResourceColumns(
        columns: [
            "id": SCIMColumn(expression: "u.id", kind: .uuid),
            "username": SCIMColumn(expression: userName, kind: .string(caseExact: false)),
            "externalid": SCIMColumn(expression: "u.scim_external_id", kind: .string(caseExact: true)),
            "active": SCIMColumn(expression: "(u.status <> 'suspended')", kind: .boolean),
            "displayname": text("displayName"), "nickname": text("nickName"), "title": text("title"),
            "usertype": text("userType"), "preferredlanguage": text("preferredLanguage"), "locale": text("locale"),
            "timezone": text("timezone"), "profileurl": text("profileUrl"),
            "name.formatted": text("name,formatted"), "name.familyname": text("name,familyName"),
            "name.givenname": text("name,givenName"), "name.middlename": text("name,middleName"),
            "name.honorificprefix": text("name,honorificPrefix"), "name.honorificsuffix": text("name,honorificSuffix"),
            "meta.created": SCIMColumn(expression: "u.created_at", kind: .dateTime),
            "meta.lastmodified": SCIMColumn(expression: "u.updated_at", kind: .dateTime),
            "employeenumber": text("\(enterpriseSchema),employeeNumber"), "department": text("\(enterpriseSchema),department"),
            "costcenter": text("\(enterpriseSchema),costCenter"), "organization": text("\(enterpriseSchema),organization"),
            "division": text("\(enterpriseSchema),division"), "manager.value": text("\(enterpriseSchema),manager,value"),
        ],
        elements: [
            "emails": jsonElements(emails, ["value", "type", "display"], primary: true),
            "phonenumbers": jsonElements("(u.scim_attributes->'phoneNumbers')", ["value", "type", "display"], primary: true),
            "ims": jsonElements("(u.scim_attributes->'ims')", ["value", "type", "display"], primary: true),
            "photos": jsonElements("(u.scim_attributes->'photos')", ["value", "type", "display"], primary: true),
            "addresses": jsonElements("(u.scim_attributes->'addresses')", ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"], primary: true),
            "entitlements": jsonElements("(u.scim_attributes->'entitlements')", ["value", "type", "display"], primary: true),
            "roles": SCIMElements(
                from: "unnest(u.rbac_roles) AS e(value)", correlation: "true",
                subAttributes: ["value": SCIMColumn(expression: "e.value", kind: .string(caseExact: false)),
                                "display": SCIMColumn(expression: "e.value", kind: .string(caseExact: false))]
            ),
        ],
        schemas: [userSchema, enterpriseSchema]
    )

    private static func jsonElements(_ array: SQL, _ texts: [String], primary: Bool) -> SCIMElements {
        var subAttributes: [String: SCIMColumn] = [:]
        for name in texts { subAttributes[name.lowercased()] = SCIMColumn(expression: "(e->>'\(unescaped: name)')", kind: .string(caseExact: false)) }
        if primary { subAttributes["primary"] = SCIMColumn(expression: "(e->>'primary')::boolean", kind: .boolean) }
        return SCIMElements(from: "jsonb_array_elements(CASE WHEN jsonb_typeof(\(array)) = 'array' THEN \(array) ELSE '[]'::jsonb END) e", correlation: "true", subAttributes: subAttributes)
    }

    /// `sortBy` on a multi-valued attribute sorts by its primary value (RFC 7644 §3.4.2.3).
    static let primaryValues: [String: SQL] = [
        "emails": "lower(u.email)",
    ]

    static func withID(_ id: UUID, organizationID: UUID, forUpdate: Bool = false) -> PostgresQuery<SCIMUser> {
        PostgresQuery(
            "SELECT \(columns) FROM users u WHERE u.id = \(id) AND \(visible(organizationID))\(unescaped: forUpdate ? " FOR UPDATE OF u" : "")",
            decode: scimUser
        )
    }

    /// The rows of a list and how many match in all, in one statement.
    static func list(_ request: SCIMListRequest, organizationID: UUID) throws(SCIMQueryError) -> (page: PostgresQuery<SCIMUser>, total: PostgresQuery<Int>) {
        let builder = SCIMFilterSQL(resource: resource)
        let filter: SQL = try request.filter.map { filter throws(SCIMQueryError) in try builder.condition(filter) } ?? "true"
        let order: SQL = try request.sortBy.map { path throws(SCIMQueryError) in
            try SCIMFilterSQL.orderBy(path, descending: request.descending, in: resource, primary: primaryValues) + ", "
        } ?? ""
        let condition: SQL = "WHERE \(visible(organizationID)) AND \(filter)"
        // The page's ids first, then their columns: the offset walks ids only, and the per-row
        // subqueries of `columns` (organization ids) run for the page's rows, not for every row
        // the offset skips (a plan that ran them for all 50,000 skipped rows took 3 times as long).
        let page = PostgresQuery(
            """
            SELECT \(columns) FROM users u WHERE u.id IN (
                SELECT u.id FROM users u \(condition) ORDER BY \(order)u.created_at, u.id LIMIT \(max(0, request.count)) OFFSET \(request.offset)
            ) ORDER BY \(order)u.created_at, u.id
            """,
            decode: scimUser
        )
        let total = PostgresQuery<Int>("SELECT count(*) AS total FROM users u \(condition)", column: "total")
        return (page, total)
    }

    /// The user SCIM would link a new IdP user to: same linked userName, else same email, else
    /// same product username (Coder's lookup "by email or username"), deprovisioned ones included.
    static func match(userName: String, email: String?) -> PostgresQuery<(user: SCIMUser, deprovisioned: Bool)> {
        let name = SQL.Bind(userName), email = SQL.Bind(email ?? "")
        return PostgresQuery(
            """
            SELECT \(columns), u.scim_deprovisioned_at IS NOT NULL AS deprovisioned FROM users u
            WHERE lower(u.scim_user_name) = lower(\(name)) OR lower(u.email) = lower(\(email)) OR lower(u.username) = lower(\(name))
            ORDER BY (lower(u.scim_user_name) = lower(\(name))) DESC NULLS LAST, (lower(u.email) = lower(\(email))) DESC, u.created_at
            LIMIT 1 FOR UPDATE OF u
            """,
            decode: { (try scimUser($0), try $0.decode("deprovisioned", as: Bool.self)) }
        )
    }

    /// Sets what SCIM holds, the product email (when given) and the status; clears a
    /// deprovisioning; moves `updated_at` strictly forward, so the version always changes.
    static func write(id: UUID, _ write: SCIMUserWrite, status: UserStatus) throws -> PostgresQuery<Void> {
        let attributes = try PostgresJSONValue(write.attributes)
        return PostgresQuery(
            """
            UPDATE users SET scim_user_name = \(write.userName), scim_external_id = \(write.externalID), scim_attributes = \(attributes)::jsonb,
                email = coalesce(\(write.email), email), status = \(status), scim_deprovisioned_at = NULL,
                updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
            WHERE id = \(id)
            """
        )
    }

    static func deprovision(_ id: UUID) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            UPDATE users SET status = 'suspended', scim_deprovisioned_at = now(),
                updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
            WHERE id = \(id)
            """
        )
    }

    static func usernameTaken(_ username: String) -> PostgresQuery<Bool> {
        PostgresQuery("SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower(\(username))) AS taken", column: "taken")
    }
}

import Foundation
import Postgres

public enum UserStatus: String, Sendable, Codable, CaseIterable, PostgresEncodable, PostgresDecodable {
    case active, suspended, dormant
}

public struct User: Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var username: String
    public var hashedPassword: String
    public var avatarURL: String
    public var status: UserStatus
    /// Site-wide roles (owner, template-admin, user-admin, auditor); "member" is implied.
    public var siteRoles: [String]
    public var loginType: String
    public var createdAt: Date
    public var updatedAt: Date
    public var lastSeenAt: Date
    public var organizationIDs: [UUID]
}

public struct NewUser: Sendable {
    public var id: UUID
    public var email: String
    public var username: String
    public var hashedPassword: String
    public var siteRoles: [String]
    public var loginType: String
    public var organizationID: UUID?

    public init(id: UUID = UUID(), email: String, username: String, hashedPassword: String, siteRoles: [String] = [], loginType: String = "password", organizationID: UUID?) {
        self.id = id
        self.email = email
        self.username = username
        self.hashedPassword = hashedPassword
        self.siteRoles = siteRoles
        self.loginType = loginType
        self.organizationID = organizationID
    }
}

/// The `users` table's statements.
enum Users {
    static let constraintFields = ["users_email_key": "email", "users_username_key": "username"]

    /// A user's next `updated_at`: strictly after the last, which SCIM's version (`meta.version`,
    /// the ETag) is made of.
    static let nextUpdate: SQL = "greatest(clock_timestamp(), updated_at + interval '1 microsecond')"

    /// Every column `user(_:)` decodes, from `users u`.
    static let columns: SQL = """
        u.id, u.email, u.username, u.hashed_password, u.avatar_url, u.status, u.rbac_roles, u.login_type,
        u.created_at, u.updated_at, u.last_seen_at,
        ARRAY(SELECT m.organization_id::text FROM organization_members m WHERE m.user_id = u.id ORDER BY m.created_at, m.organization_id) AS organization_ids
        """

    static func user(_ row: PostgresRow) throws -> User {
        User(
            id: try row.decode("id"),
            email: try row.decode("email"),
            username: try row.decode("username"),
            hashedPassword: try row.decode("hashed_password"),
            avatarURL: try row.decode("avatar_url"),
            status: try row.decode("status"),
            siteRoles: try row.decode("rbac_roles"),
            loginType: try row.decode("login_type"),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"),
            lastSeenAt: try row.decode("last_seen_at"),
            organizationIDs: try row.decode("organization_ids")
        )
    }

    /// `tail`: the rest of the statement after `FROM users u`.
    private static func users(_ tail: SQL) -> PostgresQuery<User> {
        PostgresQuery("SELECT \(columns) FROM users u \(tail)", decode: user)
    }

    /// `forUpdate`: the user's row locked until the transaction ends.
    static func withID(_ id: UUID, forUpdate: Bool = false) -> PostgresQuery<User> {
        let lock: SQL = forUpdate ? " FOR UPDATE OF u" : ""
        return users("WHERE u.id = \(id)\(lock)")
    }

    /// The users among `ids` that exist, in no particular order.
    static func withIDs(_ ids: [UUID]) -> PostgresQuery<User> {
        users("WHERE u.id = ANY(\(ids)::uuid[])")
    }

    static func withUsername(_ username: String) -> PostgresQuery<User> {
        users("WHERE lower(u.username) = lower(\(username))")
    }

    static func withEmail(_ email: String) -> PostgresQuery<User> {
        users("WHERE lower(u.email) = lower(\(email))")
    }

    /// `email` as `withEmail` compares it (PostgreSQL's `lower()`, which is not Swift's: `lower('İ')`
    /// is `i` here, `i̇` in Swift), and the user with that email if there is one: one row either
    /// way, one round trip either way, so the answer's timing does not tell which emails exist.
    static func loginAccount(_ email: String) -> PostgresQuery<(lowered: String, user: User?)> {
        // One parameter for both places, so that both lower the same text value.
        let email = SQL.Bind(email)
        return PostgresQuery(
            "SELECT lower(\(email)) AS lowered, u.id IS NOT NULL AS found, \(columns) FROM (SELECT 1) AS one LEFT JOIN users u ON lower(u.email) = lower(\(email))"
        ) { row in
            (try row.decode("lowered"), try row.decode("found", as: Bool.self) ? try user(row) : nil)
        }
    }

    /// Who sees which users: nil sees everyone; a viewer sees themselves and the members of their
    /// organizations.
    typealias Viewer = (userID: UUID, organizationIDs: [UUID])

    /// The filter of `list`. A value tested for NULL and then compared is one parameter in both
    /// places (a `Bind`), so PostgreSQL infers its type once, from the cast.
    private static func matching(search: String?, status: UserStatus?, viewer: Viewer?, afterID: UUID?) -> SQL {
        let search = SQL.Bind(search), status = SQL.Bind(status), viewerID = SQL.Bind(viewer?.userID), afterID = SQL.Bind(afterID)
        let organizationIDs = viewer?.organizationIDs ?? []
        return """
            WHERE (\(search)::text IS NULL OR u.username ILIKE '%' || \(search) || '%' OR u.email ILIKE '%' || \(search) || '%')
              AND (\(status)::text IS NULL OR u.status = \(status))
              AND (\(viewerID)::uuid IS NULL OR u.id = \(viewerID) OR EXISTS (
                  SELECT 1 FROM organization_members m WHERE m.user_id = u.id AND m.organization_id = ANY(\(organizationIDs)::uuid[])))
              AND (\(afterID)::uuid IS NULL OR (u.created_at, u.id) > (SELECT a.created_at, a.id FROM users a WHERE a.id = \(afterID)))
            """
    }

    /// In creation order, one page, and how many match before its limit and offset (Coder's
    /// `count`); `search` matches the username or the email. `page.afterID` keeps the rows after
    /// that user in this order; for an id of no user the comparison is with NULL and keeps none,
    /// as Coder's `after_id` does.
    static func list(search: String?, status: UserStatus?, visibleTo viewer: Viewer? = nil, page: Page) -> PagedQuery<User> {
        users(matching(search: search, status: status, viewer: viewer, afterID: page.afterID))
            .paged(limit: page.limit, offset: page.offset, orderBy: "u.created_at, u.id")
    }

    /// Coder's active user count for the user limit: dormant and suspended users are not counted.
    static let activeCount = PostgresQuery<Int64>("SELECT count(*) AS active FROM users WHERE status = 'active'", column: "active")

    static let anyExists = PostgresQuery<Bool>("SELECT EXISTS (SELECT 1 FROM users) AS present", column: "present")

    /// Serializes concurrent first-user requests on every replica, until the transaction ends.
    static let firstUserLock = PostgresQuery<Void>("SELECT pg_advisory_xact_lock(hashtext('coordinator.first_user'))")

    static func insert(_ new: NewUser) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            INSERT INTO users (id, email, username, hashed_password, rbac_roles, login_type)
            VALUES (\(new.id), \(new.email), \(new.username), \(new.hashedPassword), \(new.siteRoles), \(new.loginType))
            """
        )
    }

    static func setStatus(id: UUID, _ status: UserStatus) -> PostgresQuery<Void> {
        // `updated_at` is SCIM's version: strictly forward, as `SCIMUsers.write` moves it (`now()` is
        // the transaction's start, which may be before a concurrent change's).
        PostgresQuery("UPDATE users SET status = \(status), updated_at = \(nextUpdate) WHERE id = \(id)")
    }

    static func setSiteRoles(id: UUID, _ roles: [String]) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE users SET rbac_roles = \(roles), updated_at = \(nextUpdate) WHERE id = \(id)")
    }

    static func setPasswordHash(userID: UUID, _ hash: String, replacing old: String) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE users SET hashed_password = \(hash), updated_at = \(nextUpdate) WHERE id = \(userID) AND hashed_password = \(old)")
    }

    static func touchLastSeen(userID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE users SET last_seen_at = now() WHERE id = \(userID)")
    }
}

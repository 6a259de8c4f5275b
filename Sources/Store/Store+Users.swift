import Foundation
import Postgres

extension Store {
    static let userColumns = """
        u.id, u.email, u.username, u.hashed_password, u.avatar_url, u.status, u.rbac_roles, u.login_type,
        u.created_at, u.updated_at, u.last_seen_at,
        ARRAY(SELECT m.organization_id::text FROM organization_members m WHERE m.user_id = u.id ORDER BY m.created_at, m.organization_id) AS organization_ids
        """

    static func user(from row: PostgresRow) throws -> User {
        User(
            id: try row.decode(0),
            email: try row.decode(1),
            username: try row.decode(2),
            hashedPassword: try row.decode(3),
            avatarURL: try row.decode(4),
            status: UserStatus(rawValue: try row.decode(5, as: String.self)) ?? .active,
            siteRoles: try row.decode(6),
            loginType: try row.decode(7),
            createdAt: try row.decode(8),
            updatedAt: try row.decode(9),
            lastSeenAt: try row.decode(10),
            organizationIDs: try row.decode(11, as: [String].self).compactMap(UUID.init(uuidString:))
        )
    }

    public func hasAnyUser() async throws -> Bool {
        try await pool.query("SELECT EXISTS (SELECT 1 FROM users)").first?.decode(0, as: Bool.self) ?? false
    }

    /// Creates the first user as owner, the default organization and its Everyone group, all or
    /// nothing. Two concurrent calls: one wins, the other gets `.alreadyInitialized`.
    public func createFirstUser(_ new: NewUser, organizationName: String) async throws -> (user: User, organization: Organization) {
        do {
            return try await pool.withTransaction { connection in
                // Serializes concurrent first-user requests on every replica.
                try connection.query("SELECT pg_advisory_xact_lock(hashtext('coordinator.first_user'))")
                let exists = try connection.query("SELECT EXISTS (SELECT 1 FROM users)").first?.decode(0, as: Bool.self) ?? false
                if exists { throw StoreError.alreadyInitialized }
                let organizationID = new.organizationID ?? UUID()
                try connection.query(
                    "INSERT INTO organizations (id, name, display_name, is_default) VALUES ($1, $2, $3, true)",
                    [organizationID, organizationName, organizationName.capitalized]
                )
                try connection.query("INSERT INTO groups (id, name, organization_id) VALUES ($1, 'Everyone', $1)", [organizationID])
                var user = new
                user.organizationID = organizationID
                try Self.insertUser(user, on: connection)
                let created = try Self.user(id: user.id, on: connection)!
                let organization = try Self.organization(id: organizationID, on: connection)!
                return (created, organization)
            }
        } catch {
            throw mapConstraintError(error)
        }
    }

    public func createUser(_ new: NewUser) async throws -> User {
        do {
            return try await pool.withTransaction { connection in
                try Self.insertUser(new, on: connection)
                return try Self.user(id: new.id, on: connection)!
            }
        } catch {
            throw mapConstraintError(error)
        }
    }

    private static func insertUser(_ new: NewUser, on connection: isolated DatabaseConnection) throws {
        try connection.query(
            """
            INSERT INTO users (id, email, username, hashed_password, rbac_roles, login_type)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [new.id, new.email, new.username, new.hashedPassword, new.siteRoles, new.loginType]
        )
        if let organizationID = new.organizationID {
            try connection.query(
                "INSERT INTO organization_members (user_id, organization_id) VALUES ($1, $2)",
                [new.id, organizationID]
            )
        }
    }

    static func user(id: UUID, on connection: isolated DatabaseConnection) throws -> User? {
        try connection.query("SELECT \(userColumns) FROM users u WHERE u.id = $1", [id]).first.map(user(from:))
    }

    public func user(id: UUID) async throws -> User? {
        try await pool.query("SELECT \(Self.userColumns) FROM users u WHERE u.id = $1", [id]).first.map(Self.user(from:))
    }

    public func user(username: String) async throws -> User? {
        try await pool.query("SELECT \(Self.userColumns) FROM users u WHERE lower(u.username) = lower($1)", [username])
            .first.map(Self.user(from:))
    }

    public func user(email: String) async throws -> User? {
        try await pool.query("SELECT \(Self.userColumns) FROM users u WHERE lower(u.email) = lower($1)", [email])
            .first.map(Self.user(from:))
    }

    /// Users in creation order, optionally filtered by a search term (username or email) and status.
    public func users(search: String?, status: UserStatus?, limit: Int?, offset: Int) async throws -> [User] {
        try await pool.query(
            """
            SELECT \(Self.userColumns) FROM users u
            WHERE ($1::text IS NULL OR u.username ILIKE '%' || $1 || '%' OR u.email ILIKE '%' || $1 || '%')
              AND ($2::text IS NULL OR u.status = $2)
            ORDER BY u.created_at, u.id
            LIMIT $3 OFFSET $4
            """,
            [search, status?.rawValue, limit, offset]
        ).rows.map(Self.user(from:))
    }

    /// A page of the users `viewer` may see (nil: all of them) matching the search and status,
    /// and how many match in all; paged in SQL, in creation order.
    public func users(search: String?, status: UserStatus?, visibleTo viewer: (userID: UUID, organizationIDs: [UUID])?, page: Page) async throws -> (users: [User], count: Int) {
        let filter = """
            ($1::text IS NULL OR u.username ILIKE '%' || $1 || '%' OR u.email ILIKE '%' || $1 || '%')
              AND ($2::text IS NULL OR u.status = $2)
              AND ($3::uuid IS NULL OR u.id = $3 OR EXISTS (
                  SELECT 1 FROM organization_members m WHERE m.user_id = u.id AND m.organization_id = ANY($4::uuid[])))
              AND ($5::uuid IS NULL OR (u.created_at, u.id) > (SELECT created_at, id FROM users WHERE id = $5))
            """
        let binds: [any PostgresEncodable] = [search, status?.rawValue, viewer?.userID, (viewer?.organizationIDs ?? []).map(\.uuidString), page.afterID]
        return try await pool.withTransaction { connection in
            let count = try connection.query("SELECT count(*) AS total FROM users u WHERE \(filter)", binds).first?.decode("total", as: Int.self) ?? 0
            let users = try connection.query(
                """
                SELECT \(Self.userColumns) FROM users u
                WHERE \(filter)
                ORDER BY u.created_at, u.id
                LIMIT $6 OFFSET $7
                """,
                binds + [page.limit, page.offset]
            ).rows.map(Self.user(from:))
            return (users, count)
        }
    }

    public func setUserStatus(id: UUID, _ status: UserStatus) async throws -> User {
        try await pool.withTransaction { connection in
            let updated = try connection.query(
                "UPDATE users SET status = $2, updated_at = now() WHERE id = $1", [id, status.rawValue]
            ).affectedRows
            guard updated == 1 else { throw StoreError.notFound }
            return try Self.user(id: id, on: connection)!
        }
    }

    /// Replaces a password hash, unless it changed meanwhile (a concurrent login or password change).
    public func setPasswordHash(userID: UUID, _ hash: String, replacing old: String) async throws {
        try await pool.query("UPDATE users SET hashed_password = $1, updated_at = now() WHERE id = $2 AND hashed_password = $3", [hash, userID, old])
    }

    public func touchLastSeen(userID: UUID) async throws {
        try await pool.query("UPDATE users SET last_seen_at = now() WHERE id = $1", [userID])
    }

    /// Organization memberships with their organization roles.
    public func memberships(userID: UUID) async throws -> [OrganizationMembership] {
        try await pool.query(
            "SELECT organization_id, roles FROM organization_members WHERE user_id = $1 ORDER BY created_at",
            [userID]
        ).rows.map { OrganizationMembership(organizationID: try $0.decode(0), roles: try $0.decode(1)) }
    }
}

import Foundation
import Postgres

extension Store {
    public func hasAnyUser() async throws -> Bool {
        try await pool.one(Users.anyExists) ?? false
    }

    /// Creates the first user as owner, the default organization and its Everyone group, and
    /// installs `license` (the deployment's trial) if given, all or nothing. Two concurrent
    /// calls: one wins, the other gets `.alreadyInitialized`.
    public func createFirstUser(_ new: NewUser, organizationName: String, license: NewLicense? = nil) async throws -> (user: User, organization: Organization) {
        try await mappingConflicts(Users.constraintFields, Organizations.constraintFields, Groups.constraintFields, Licenses.constraintFields) {
            try await pool.withTransaction { connection in
                try connection.execute(Users.firstUserLock)
                if try connection.one(Users.anyExists) ?? false { throw StoreError.alreadyInitialized }
                let organizationID = new.organizationID ?? UUID()
                try connection.execute(Organizations.insertDefault(id: organizationID, name: organizationName))
                try connection.execute(Groups.insertEveryone(organizationID: organizationID))
                var user = new
                user.organizationID = organizationID
                try Self.insertUser(user, on: connection)
                if let license { try connection.execute(Licenses.insert(license)) }
                try connection.execute(Licenses.announce(license == nil ? .users : .add))
                let created = try connection.require(Users.withID(user.id))
                let organization = try connection.require(Organizations.withID(organizationID))
                return (created, organization)
            }
        }
    }

    /// Creates the user (a member of its organization, if it names one); `audit` sees the user
    /// as created and its row commits with it. A taken email or username is `.conflict` and
    /// leaves no row.
    public func createUser(_ new: NewUser, audit: (@Sendable (User) throws -> AuditEntry?)? = nil) async throws -> User {
        try await mappingConflicts(Users.constraintFields) {
            try await pool.withTransaction { connection in
                try Self.insertUser(new, on: connection)
                try connection.execute(Licenses.announce(.users))
                let created = try connection.require(Users.withID(new.id))
                try Self.recordAudit(try audit?(created), on: connection)
                return created
            }
        }
    }

    private static func insertUser(_ new: NewUser, on connection: isolated DatabaseConnection) throws {
        try connection.execute(Users.insert(new))
        if let organizationID = new.organizationID {
            try connection.execute(OrganizationMembers.insert(userID: new.id, organizationID: organizationID))
        }
    }

    public func user(id: UUID) async throws -> User? {
        try await pool.one(Users.withID(id))
    }

    /// The users of `ids` that exist, in no particular order.
    public func users(ids: [UUID]) async throws -> [User] {
        ids.isEmpty ? [] : try await pool.all(Users.withIDs(ids))
    }

    public func user(username: String) async throws -> User? {
        try await pool.one(Users.withUsername(username))
    }

    public func user(email: String) async throws -> User? {
        try await pool.one(Users.withEmail(email))
    }

    /// The user a login's email names, and the key its failed attempts count under: the user's
    /// id when there is one, so that no other spelling that finds the same user escapes the count;
    /// else the email as the lookup compares it (SQL's `lower()`), never as Swift lowers it.
    public func loginAccount(email: String) async throws -> (user: User?, throttleKey: String) {
        guard let found = try await pool.one(Users.loginAccount(email)) else { return (nil, "email:" + email) }
        if let user = found.user { return (user, "user:\(user.id.uuidString.lowercased())") }
        return (nil, "email:" + found.lowered)
    }

    /// Users in creation order, optionally filtered by a search term (username or email) and
    /// status, one `page` of them (see `Page` for the cursor).
    public func users(search: String?, status: UserStatus?, page: Page) async throws -> [User] {
        try await pool.all(Users.list(search: search, status: status, page: page).rows)
    }

    /// Users in creation order, optionally filtered by a search term (username or email) and status.
    public func users(search: String?, status: UserStatus?, limit: Int?, offset: Int) async throws -> [User] {
        try await users(search: search, status: status, page: Page(limit: limit, offset: offset))
    }

    /// A page of the users `viewer` may see (nil: all of them) matching the search and status,
    /// and how many match in all (after `page.afterID`, before its limit and offset).
    public func users(search: String?, status: UserStatus?, visibleTo viewer: (userID: UUID, organizationIDs: [UUID])?, page: Page) async throws -> (users: [User], count: Int) {
        // Both from one snapshot, so the count agrees with the page.
        let found = try await pool.page(Users.list(search: search, status: status, visibleTo: viewer, page: page))
        return (found.rows, found.total)
    }

    /// Sets the user's status, with the row locked; `audit` sees the user before and after, and
    /// its row commits with the change.
    public func setUserStatus(
        id: UUID, _ status: UserStatus, audit: (@Sendable (_ old: User, _ new: User) throws -> AuditEntry?)? = nil
    ) async throws -> User {
        // The active user count moved: every replica's user limit is recounted.
        try await changeUser(id: id, Users.setStatus(id: id, status), announcing: .users, audit: audit)
    }

    /// Replaces the user's site roles (owner, template-admin, user-admin, auditor; member is
    /// implied and never stored); returns the user as now stored. `audit` sees the user before and
    /// after; its row commits with the change.
    public func setSiteRoles(
        id: UUID, _ roles: [String], audit: (@Sendable (_ old: User, _ new: User) throws -> AuditEntry?)? = nil
    ) async throws -> User {
        try await changeUser(id: id, Users.setSiteRoles(id: id, roles), announcing: nil, audit: audit)
    }

    /// Runs `change` on the user's row, locked, in one transaction with `announcing`'s notice and
    /// the audit row `audit` makes of the user before and after; returns the user as now stored.
    private func changeUser(
        id: UUID, _ change: PostgresQuery<Void>, announcing: LicensesChange?, audit: (@Sendable (_ old: User, _ new: User) throws -> AuditEntry?)?
    ) async throws -> User {
        try await pool.withTransaction { connection in
            guard let before = try connection.one(Users.withID(id, forUpdate: true)) else { throw StoreError.notFound }
            guard try connection.execute(change) == 1 else { throw StoreError.notFound }
            if let announcing { try connection.execute(Licenses.announce(announcing)) }
            let after = try connection.require(Users.withID(id))
            try Self.recordAudit(try audit?(before, after), on: connection)
            return after
        }
    }

    /// Replaces a password hash, unless it changed meanwhile (a concurrent login or password change).
    public func setPasswordHash(userID: UUID, _ hash: String, replacing old: String) async throws {
        try await pool.execute(Users.setPasswordHash(userID: userID, hash, replacing: old))
    }

    public func touchLastSeen(userID: UUID) async throws {
        try await pool.execute(Users.touchLastSeen(userID: userID))
    }

    /// Organization memberships with their organization roles.
    public func memberships(userID: UUID) async throws -> [OrganizationMembership] {
        try await pool.all(OrganizationMembers.ofUser(userID))
    }

    /// The memberships of each of `userIDs` (a user in no organization has no entry), in one query.
    public func memberships(userIDs: [UUID]) async throws -> [UUID: [OrganizationMembership]] {
        guard !userIDs.isEmpty else { return [:] }
        var byUser: [UUID: [OrganizationMembership]] = [:]
        for (userID, membership) in try await pool.all(OrganizationMembers.ofUsers(userIDs)) {
            byUser[userID, default: []].append(membership)
        }
        return byUser
    }
}

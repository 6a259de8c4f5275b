import Foundation
import Postgres
import SCIMCore
import WireFormat

extension Store {
    /// The audit row of a SCIM change, made inside its transaction from the user before and after.
    public typealias SCIMUserAudit = @Sendable (_ action: AuditAction, _ old: SCIMUser?, _ new: SCIMUser?) throws -> AuditEntry?

    /// The default organization's id: the organization SCIM provisions into.
    public func defaultOrganizationID() async throws -> UUID? {
        try await pool.one(Organizations.theDefault)?.id
    }

    public func scimUser(id: UUID, organizationID: UUID) async throws -> SCIMUser? {
        try await pool.one(SCIMUsers.withID(id, organizationID: organizationID))
    }

    /// One page of the users SCIM sees that match, and how many match in all. The filter and
    /// the sort run in SQL (`SCIMQueryError` when they name what Users do not have).
    public func scimUsers(_ request: SCIMListRequest, organizationID: UUID) async throws -> (users: [SCIMUser], total: Int) {
        try await scimPage(try SCIMUsers.list(request, organizationID: organizationID), request)
    }

    /// A page and `totalResults`. A filtered list (an IdP's lookup by userName or externalId:
    /// a row or none) runs the page alone when it is short, since then the total is what it
    /// shows; otherwise the count and the page run on two connections at once (one round trip
    /// of latency, not a transaction's four). They may disagree by a concurrent write, which
    /// RFC 7644's totalResults tolerates (Coder's is approximate too).
    func scimPage<Row: Sendable>(_ queries: (page: PostgresQuery<Row>, total: PostgresQuery<Int>), _ request: SCIMListRequest) async throws -> ([Row], Int) {
        if request.filter != nil, request.count > 0 {
            let rows = try await pool.all(queries.page)
            if rows.count < request.count, !rows.isEmpty || request.startIndex == 1 {
                return (rows, request.offset + rows.count)
            }
            return (rows, try await pool.one(queries.total) ?? 0)
        }
        async let total = pool.one(queries.total)
        let rows = request.count > 0 ? try await pool.all(queries.page) : []
        return (rows, try await total ?? 0)
    }

    /// Creates a user for an IdP, or links the one it names: a user SCIM has not linked yet (or
    /// deprovisioned) with the same userName, email or username is linked, given what the IdP
    /// sent and reactivated if `active` is true, and `created` is false. A user already linked
    /// is a conflict on `userName`. `usernames` gives the product usernames to try for a new
    /// user, in order (the normalized userName, then with suffixes).
    public func scimCreateUser(
        _ write: SCIMUserWrite, organizationID: UUID, usernames: [String], audit: SCIMUserAudit
    ) async throws -> (user: SCIMUser, created: Bool) {
        try await mappingConflicts(SCIMUsers.constraintFields) {
            try await pool.withTransaction { connection in
                if let existing = try connection.one(SCIMUsers.match(userName: write.userName, email: write.email)) {
                    guard !existing.user.isLinked || existing.deprovisioned else { throw StoreError.conflict(field: "userName") }
                    let status = Self.status(after: write.active, from: existing.user.user.status)
                    try connection.execute(try SCIMUsers.write(id: existing.user.user.id, write, status: status))
                    if !existing.user.user.organizationIDs.contains(organizationID) {
                        try connection.execute(OrganizationMembers.insert(userID: existing.user.user.id, organizationID: organizationID))
                    }
                    if status != existing.user.user.status { try connection.execute(Licenses.announce(.users)) }
                    let linked = try connection.require(SCIMUsers.withID(existing.user.user.id, organizationID: organizationID))
                    try Self.recordAudit(try audit(.write, existing.user, linked), on: connection)
                    return (linked, false)
                }
                guard let username = try usernames.first(where: { try !(connection.one(SCIMUsers.usernameTaken($0)) ?? true) }) else {
                    throw StoreError.conflict(field: "username")
                }
                let id = UUID()
                // The product's users all have an email; one the IdP did not send is a
                // non-deliverable placeholder (RFC 2606's .invalid), unique by the user's id.
                let email = write.email ?? "\(id.uuidString.lowercased())@\(Self.placeholderEmailDomain)"
                try connection.execute(Users.insert(NewUser(id: id, email: email, username: username, hashedPassword: "", loginType: "oidc", organizationID: organizationID)))
                try connection.execute(OrganizationMembers.insert(userID: id, organizationID: organizationID))
                try connection.execute(try SCIMUsers.write(id: id, write, status: write.active == false ? .suspended : .active))
                try connection.execute(Licenses.announce(.users))
                let created = try connection.require(SCIMUsers.withID(id, organizationID: organizationID))
                try Self.recordAudit(try audit(.create, nil, created), on: connection)
                return (created, true)
            }
        }
    }

    /// Replaces what SCIM holds of a user with `change(current)` (a PUT, or a PATCH applied to the
    /// current resource). `change` runs outside any transaction, on the user as read; the write
    /// then takes the row lock only to check that the user is still that version and store the
    /// result (see `scimOptimisticChange`). `ifVersion`: the `If-Match` version,
    /// `SCIMWriteError.versionMismatch` when it is stale. nil when SCIM does not see the user.
    public func scimReplaceUser(
        id: UUID, organizationID: UUID, ifVersion: Int64?, audit: SCIMUserAudit,
        change: @Sendable (SCIMUser) async throws -> SCIMUserWrite
    ) async throws -> SCIMUser? {
        try await mappingConflicts(SCIMUsers.constraintFields) {
            try await scimOptimisticChange(
                read: SCIMUsers.withID(id, organizationID: organizationID), lock: SCIMUsers.withID(id, organizationID: organizationID, forUpdate: true),
                version: \.version, ifVersion: ifVersion, change: change
            ) { current, write, connection in
                let status = Self.status(after: write.active, from: current.user.status)
                try connection.execute(try SCIMUsers.write(id: id, write, status: status))
                if status != current.user.status { try connection.execute(Licenses.announce(.users)) }
                let replaced = try connection.require(SCIMUsers.withID(id, organizationID: organizationID))
                try Self.recordAudit(try audit(.write, current, replaced), on: connection)
                return replaced
            }
        }
    }

    /// A change computed from a resource as read, stored only if the resource is still that
    /// version: the work of a change (a PATCH of thousands of values) never runs inside a
    /// transaction holding a pooled connection and a row lock. A concurrent change in between is
    /// retried once on the new version; a second one is `versionMismatch` (412), as is a stale
    /// `ifVersion`. nil when the resource is not there.
    func scimOptimisticChange<Resource: Sendable, Write: Sendable>(
        read: PostgresQuery<Resource>, lock: PostgresQuery<Resource>, version: @escaping @Sendable (Resource) -> Int64, ifVersion: Int64?,
        change: @Sendable (Resource) async throws -> Write,
        store: @Sendable (_ current: Resource, _ write: Write, _ connection: isolated DatabaseConnection) throws -> Resource
    ) async throws -> Resource? {
        for _ in 0..<2 {
            guard let current = try await pool.one(read) else { return nil }
            if let ifVersion, ifVersion != version(current) { throw SCIMWriteError.versionMismatch }
            let write = try await change(current)
            let stored: Resource?? = try await pool.withTransaction { connection in
                guard let locked = try connection.one(lock) else { return .some(nil) }
                guard version(locked) == version(current) else { return nil }
                return .some(try store(locked, write, connection))
            }
            if let stored { return stored }
        }
        throw SCIMWriteError.versionMismatch
    }

    /// A SCIM DELETE: the user is suspended and hidden from SCIM, never deleted (its workspaces,
    /// audit rows and ownership stay). False when SCIM does not see the user.
    public func scimDeprovisionUser(id: UUID, organizationID: UUID, ifVersion: Int64?, audit: SCIMUserAudit) async throws -> Bool {
        try await pool.withTransaction { connection in
            guard let current = try connection.one(SCIMUsers.withID(id, organizationID: organizationID, forUpdate: true)) else { return false }
            if let ifVersion, ifVersion != current.version { throw SCIMWriteError.versionMismatch }
            try connection.execute(SCIMUsers.deprovision(id))
            if current.user.status != .suspended { try connection.execute(Licenses.announce(.users)) }
            try Self.recordAudit(try audit(.delete, current, nil), on: connection)
            return true
        }
    }

    /// The domain of the email a SCIM user gets when its IdP sends none.
    public static let placeholderEmailDomain = "scim.invalid"

    /// Coder's mapping of SCIM `active`: false suspends; true keeps an active or dormant user as
    /// it is and moves a suspended one to dormant (active again at its next login); absent keeps.
    static func status(after active: Bool?, from status: UserStatus) -> UserStatus {
        switch active {
        case nil: status
        case false?: .suspended
        case true?: status == .suspended ? .dormant : status
        }
    }
}

import Foundation
import Hummingbird
import Store

/// Users and their API keys (Coder's `/api/v2/users…`). Creating a user, suspending and
/// activating one, and minting a key are audited (`user` create and write, `api_key` create).
/// The request bodies are in `UserRequests.swift`, the answers in `UserResponses.swift`.
struct UsersController: ResourceController {
    let store: Store
    let authenticator: Authenticator
    /// The cost new password hashes are made at (`APIServer.Configuration.passwordHashing`).
    let passwordHashing: Passwords.Parameters

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("users", use: listUsers)
        signedIn.post("users", use: createUser)
        signedIn.get("users/:user", use: getUser)
        signedIn.put("users/:user/status/suspend") { try await setStatus($0, $1, .suspended) }
        signedIn.put("users/:user/status/activate") { try await setStatus($0, $1, .active) }
        signedIn.put("users/:user/roles", use: setRoles)
        signedIn.get("users/:user/organizations", use: userOrganizations)
        signedIn.post("users/:user/keys", use: createKey)
        return routes
    }

    @Sendable func listUsers(_ request: Request, _ context: SignedInContext) async throws -> UsersResponse {
        let subject = context.subject
        var search: String?
        var status: UserStatus?
        for term in (request.uri.queryParameters["q"].map(String.init) ?? "").split(separator: " ") {
            if term.hasPrefix("status:") {
                guard let value = UserStatus(rawValue: String(term.dropFirst("status:".count))) else {
                    throw APIError(.badRequest, "Invalid user search query.", validations: [
                        .init(field: "status", detail: "\"\(term.dropFirst("status:".count))\" is not a valid user status"),
                    ])
                }
                status = value
            } else {
                search = String(term)
            }
        }
        let page = try request.page()
        // Everyone sees the users they may read: all of them for owners and administrators, the
        // members of their own organizations for others.
        let viewer: (userID: UUID, organizationIDs: [UUID])? = switch RBAC.scope(subject, reading: .users) {
        case .all: nil
        case .organizations(let organizations): (userID: subject.userID, organizationIDs: organizations)
        case .own: (userID: subject.userID, organizationIDs: [])
        }
        let (users, count) = try await store.users(search: search, status: status, visibleTo: viewer, page: page)
        return UsersResponse(users: users.map(UserJSON.init), count: count)
    }

    @Sendable func createUser(_ request: Request, _ context: SignedInContext) async throws -> Created<UserJSON> {
        try context.authorize(.create, .user(id: UUID(), organizations: []))
        let body = try await request.decode(as: CreateUserRequest.self, context: context)
        if let password = body.password { try Passwords.checkStrength(password) }
        let organization: Organization
        do {
            organization = try await context.load(.organization(body.organizationID, in: store), for: .read)
        } catch let error as APIError where error.status == .notFound {
            throw APIError(.notFound, "Organization does not exist with the provided id \"\(body.organizationID)\".")
        }
        let hashedPassword = if let password = body.password { try await Passwords.hashOffloaded(password, parameters: passwordHashing) } else { "" }
        let new = NewUser(
            email: body.email, username: body.username, hashedPassword: hashedPassword,
            loginType: body.loginType, organizationID: organization.id
        )
        let audit = context.audit
        do {
            return Created(UserJSON(try await store.createUser(new) { created in
                try audit.record(
                    .user, id: created.id, target: created.username, action: .create,
                    new: AuditedUser(created), organization: organization.id, status: .created
                )
            }))
        } catch StoreError.conflict(let field) {
            throw APIError(.conflict, "User already exists.", validations: [.init(field: field, detail: "this value is already in use and should be unique")])
        }
    }

    @Sendable func getUser(_ request: Request, _ context: SignedInContext) async throws -> UserJSON {
        UserJSON(try await context.load(.user(context, in: store), for: .read))
    }

    func setStatus(_ request: Request, _ context: SignedInContext, _ status: UserStatus) async throws -> UserJSON {
        let user = try await context.load(.user(context, in: store), for: .read)
        if status == .suspended, user.id == context.subject.userID {
            throw APIError(.badRequest, "You cannot suspend yourself.")
        }
        try context.authorize(.update, .userAdministration(id: user.id, isOwner: user.siteRoles.contains(Role.owner.rawValue)))
        let updated = try await store.setUserStatus(id: user.id, status, audit: Self.changeAudit(context.audit))
        await authenticator.userChanged(user.id)
        return UserJSON(updated)
    }

    /// `PUT /users/{user}/roles` (Coder's): replaces the user's site roles. Owners only; nobody
    /// changes their own. Every replica drops the user's cached keys and re-checks the WebSockets
    /// they hold: a template admin demoted to member loses their organization daemon's connection.
    @Sendable func setRoles(_ request: Request, _ context: SignedInContext) async throws -> UserJSON {
        let user = try await context.load(.user(context, in: store), for: .read)
        guard user.id != context.subject.userID else { throw APIError(.badRequest, "You cannot change your own roles.") }
        try context.authorize(.update, .siteRoles)
        let body = try await request.decode(as: UpdateRolesRequest.self, context: context)
        var roles = Set<String>()
        // "member" is everyone's and implied: accepted, never stored.
        for role in body.roles where role != Role.member.rawValue {
            guard Role.assignableSiteRoles.contains(role) else { throw APIError(.badRequest, "\"\(role)\" is not a supported role") }
            roles.insert(role)
        }
        let updated = try await store.setSiteRoles(id: user.id, roles.sorted(), audit: Self.changeAudit(context.audit))
        await authenticator.userChanged(user.id)
        return UserJSON(updated)
    }

    /// The audit row of a change of a user's status or roles (`user`, write), made inside the
    /// change's transaction; none when the user's status and roles are as they were (setting
    /// what a user has already changes nothing).
    private static func changeAudit(_ audit: AuditTrail) -> @Sendable (_ old: User, _ new: User) throws -> AuditEntry? {
        { old, new in
            guard old.status != new.status || Set(old.siteRoles) != Set(new.siteRoles) else { return nil }
            return try audit.record(
                .user, id: new.id, target: new.username, action: .write,
                old: AuditedUser(old), new: AuditedUser(new), organization: new.organizationIDs.first, status: .ok
            )
        }
    }

    @Sendable func userOrganizations(_ request: Request, _ context: SignedInContext) async throws -> [OrganizationJSON] {
        let subject = context.subject
        let user = try await context.load(.user(context, in: store), for: .read)
        return try await store.organizations(userID: user.id)
            .filter { RBAC.can(subject, .read, .organization(id: $0.id)) }
            .map(OrganizationJSON.init)
    }

    @Sendable func createKey(_ request: Request, _ context: SignedInContext) async throws -> Created<KeyResponse> {
        let user = try await context.load(.user(context, in: store), for: .read)
        try context.authorize(.create, .apiKey(owner: user.id))
        let audit = context.audit
        let token = try await authenticator.issueKey(for: user.id, loginType: "token", lifetime: Authenticator.tokenLifetime) { key in
            try AuditRecorder.apiKeyEntry(audit, key: key, action: .create, status: .created)
        }
        return Created(KeyResponse(key: token))
    }
}

extension Lookup where Value == User {
    /// `{user}`: a uuid, a username, or `me` (the caller), as Coder resolves it; one that names
    /// nobody is Coder's 400.
    static func user(_ context: SignedInContext, parameter name: String = "user", in store: Store) -> Lookup {
        let raw = context.parameters.get(name) ?? ""
        let caller = context.subject.userID
        return Lookup(
            fetch: {
                let user: User? = if raw == "me" {
                    try await store.user(id: caller)
                } else if let id = UUID(uuidString: raw) {
                    try await store.user(id: id)
                } else {
                    try await store.user(username: raw)
                }
                guard let user else { throw APIError(.badRequest, "\"user\" must be an existing uuid or username.") }
                return user
            },
            resource: { .user(id: $0.id, organizations: $0.organizationIDs) }
        )
    }
}

extension SignedInContext {
    /// `{user}`, resolved without a permission check: the route decides what the caller may do
    /// with that user (create a workspace for them, say).
    func userParameter(_ store: Store) async throws -> User {
        guard let user = try await Lookup.user(self, in: store).fetch() else { throw APIError.resourceNotFound }
        return user
    }
}

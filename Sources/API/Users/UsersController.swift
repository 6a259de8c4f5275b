import Foundation
import Hummingbird
import Store

/// Users and their API keys (Coder's `/api/v2/users…`). Creating a user, suspending and
/// activating one, and minting a key are audited (`user` create and write, `api_key` create).
struct UsersController: ResourceController {
    let store: Store
    let authenticator: Authenticator
    let audit: AuditRecorder
    /// The cost new password hashes are made at (`APIServer.Configuration.passwordHashing`).
    let passwordHashing: Passwords.Parameters

    /// What the audit log shows of a user: the user as the API writes it, and its login type;
    /// never its password hash (no field holds it).
    struct AuditedUser: Encodable {
        let user: UserJSON
        let loginType: String

        init(_ user: User) {
            self.user = UserJSON(user)
            loginType = user.loginType
        }

        enum Key: String, CodingKey { case login_type }

        func encode(to encoder: any Encoder) throws {
            try user.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(loginType, forKey: .login_type)
        }
    }

    struct CreateUserRequest: Decodable {
        let email: String
        let username: String
        /// Nil for login type "none".
        let password: String?
        let organizationID: UUID
        let loginType: String

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            email = fields.email("email")
            username = fields.username("username")
            let loginType = fields.optional("login_type", as: String.self) ?? "password"
            if !["password", "none"].contains(loginType) { fields.fail("login_type", tag: "oneof", value: loginType) }
            self.loginType = loginType
            if loginType == "none", let given = fields.optional("password", as: String.self), !given.isEmpty {
                fields.fail("password", detail: "a user with login type \"none\" cannot have a password")
            }
            password = loginType == "password" ? fields.required("password", as: String.self) : nil
            organizationID = fields.required("organization_id")
            try fields.check()
        }
    }

    /// Coder's `UpdateRoles`: the user's site roles, all of them (what is left out is taken away).
    struct UpdateRolesRequest: Decodable {
        let roles: [String]

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            // As Coder's: absent is none.
            roles = fields.optional("roles", as: [String].self) ?? []
            try fields.check()
        }
    }

    struct UsersResponse: ResponseEncodable {
        let users: [UserJSON]
        let count: Int
    }

    struct KeyResponse: Encodable {
        let key: String
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: guards.authentication)
        routes.get("users", use: listUsers)
        routes.post("users", use: createUser)
        routes.get("users/:user", use: getUser)
        routes.put("users/:user/status/suspend") { try await setStatus($0, $1, .suspended) }
        routes.put("users/:user/status/activate") { try await setStatus($0, $1, .active) }
        routes.put("users/:user/roles", use: setRoles)
        routes.get("users/:user/organizations", use: userOrganizations)
        routes.post("users/:user/keys", use: createKey)
        return routes
    }

    @Sendable func listUsers(_ request: Request, _ context: AppRequestContext) async throws -> UsersResponse {
        let subject = try context.requireSubject()
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
        let viewer = RBAC.can(subject, .read, .user(id: UUID(), organizations: [])) ? nil : (subject.userID, Array(subject.organizations.keys))
        let (users, count) = try await store.users(search: search, status: status, visibleTo: viewer, page: page)
        return UsersResponse(users: users.map(UserJSON.init), count: count)
    }

    @Sendable func createUser(_ request: Request, _ context: AppRequestContext) async throws -> Created<UserJSON> {
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
        let audit = self.audit
        do {
            return Created(UserJSON(try await store.createUser(new) { created in
                try audit.entry(
                    request, context, resourceType: .user, resourceID: created.id, target: created.username, action: .create,
                    new: AuditedUser(created), organizationID: organization.id, status: .created
                )
            }))
        } catch StoreError.conflict(let field) {
            throw APIError(.conflict, "User already exists.", validations: [.init(field: field, detail: "this value is already in use and should be unique")])
        }
    }

    @Sendable func getUser(_ request: Request, _ context: AppRequestContext) async throws -> UserJSON {
        UserJSON(try await context.load(.user(context, in: store), for: .read))
    }

    func setStatus(_ request: Request, _ context: AppRequestContext, _ status: UserStatus) async throws -> UserJSON {
        let subject = try context.requireSubject()
        let user = try await context.load(.user(context, in: store), for: .read)
        if status == .suspended, user.id == subject.userID {
            throw APIError(.badRequest, "You cannot suspend yourself.")
        }
        try context.authorize(.update, .userAdministration(id: user.id, isOwner: user.siteRoles.contains(Role.owner.rawValue)))
        let updated = try await store.setUserStatus(id: user.id, status, audit: changeAudit(request, context))
        await authenticator.userChanged(user.id)
        return UserJSON(updated)
    }

    /// `PUT /users/{user}/roles` (Coder's): replaces the user's site roles. Owners only; nobody
    /// changes their own. Every replica drops the user's cached keys and re-checks the WebSockets
    /// they hold: a template admin demoted to member loses their organization daemon's connection.
    @Sendable func setRoles(_ request: Request, _ context: AppRequestContext) async throws -> UserJSON {
        let subject = try context.requireSubject()
        let user = try await context.load(.user(context, in: store), for: .read)
        guard user.id != subject.userID else { throw APIError(.badRequest, "You cannot change your own roles.") }
        try context.authorize(.update, .siteRoles)
        let body = try await request.decode(as: UpdateRolesRequest.self, context: context)
        var roles = Set<String>()
        // "member" is everyone's and implied: accepted, never stored.
        for role in body.roles where role != Role.member.rawValue {
            guard Role.assignableSiteRoles.contains(role) else { throw APIError(.badRequest, "\"\(role)\" is not a supported role") }
            roles.insert(role)
        }
        let updated = try await store.setSiteRoles(id: user.id, roles.sorted(), audit: changeAudit(request, context))
        await authenticator.userChanged(user.id)
        return UserJSON(updated)
    }

    /// The audit row of a change of a user's status or roles (`user`, write), made inside the
    /// change's transaction; none when the user's status and roles are as they were (setting
    /// what a user has already changes nothing).
    private func changeAudit(_ request: Request, _ context: AppRequestContext) -> @Sendable (_ old: User, _ new: User) throws -> AuditEntry? {
        let audit = self.audit
        return { old, new in
            guard old.status != new.status || Set(old.siteRoles) != Set(new.siteRoles) else { return nil }
            return try audit.entry(
                request, context, resourceType: .user, resourceID: new.id, target: new.username, action: .write,
                old: AuditedUser(old), new: AuditedUser(new), organizationID: new.organizationIDs.first, status: .ok
            )
        }
    }

    @Sendable func userOrganizations(_ request: Request, _ context: AppRequestContext) async throws -> [OrganizationJSON] {
        let subject = try context.requireSubject()
        let user = try await context.load(.user(context, in: store), for: .read)
        return try await store.organizations(userID: user.id)
            .filter { RBAC.can(subject, .read, .organization(id: $0.id)) }
            .map(OrganizationJSON.init)
    }

    @Sendable func createKey(_ request: Request, _ context: AppRequestContext) async throws -> Created<KeyResponse> {
        let user = try await context.load(.user(context, in: store), for: .read)
        try context.authorize(.create, .apiKey(owner: user.id))
        let audit = self.audit
        let token = try await authenticator.issueKey(for: user.id, loginType: "token", lifetime: Authenticator.tokenLifetime) { key in
            try audit.apiKeyEntry(request, context, key: key, action: .create, status: .created)
        }
        return Created(KeyResponse(key: token))
    }
}

extension Lookup where Value == User {
    /// `{user}`: a uuid, a username, or `me` (the caller), as Coder resolves it; one that names
    /// nobody is Coder's 400.
    static func user(_ context: AppRequestContext, parameter name: String = "user", in store: Store) -> Lookup {
        let raw = context.parameters.get(name) ?? ""
        let caller = context.subject?.userID
        return Lookup(
            fetch: {
                let user: User? = if raw == "me" {
                    if let caller { try await store.user(id: caller) } else { nil }
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

extension AppRequestContext {
    /// `{user}`, resolved without a permission check: the route decides what the caller may do
    /// with that user (create a workspace for them, say).
    func userParameter(_ store: Store) async throws -> User {
        guard let user = try await Lookup.user(self, in: store).fetch() else { throw APIError.resourceNotFound }
        return user
    }
}

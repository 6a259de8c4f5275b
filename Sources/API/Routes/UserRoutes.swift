import Foundation
import Hummingbird
import Store

/// Users, first-user setup, login/logout and API keys (Coder's `/api/v2/users…`).
struct UserRoutes {
    let store: Store
    let authenticator: Authenticator
    let secureCookies: Bool
    let loginThrottle: LoginThrottle
    let proxyTrust: ProxyTrust

    struct CreateFirstUserRequest: Decodable {
        let email: String?
        let username: String?
        let password: String?
        let trial: Bool?
    }

    struct CreateFirstUserResponse: Encodable {
        let user_id: UUID
        let organization_id: UUID
    }

    struct CreateUserRequest: Decodable {
        let email: String?
        let username: String?
        let password: String?
        let organization_id: UUID?
        let login_type: String?
    }

    struct LoginRequest: Decodable {
        let email: String?
        let password: String?
    }

    struct LoginResponse: Encodable {
        let session_token: String
    }

    struct UsersResponse: Encodable {
        let users: [UserJSON]
        let count: Int
    }

    struct KeyResponse: Encodable {
        let key: String
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("users/first", use: checkFirstUser)
        group.post("users/first", use: createFirstUser)
        group.post("users/login", use: login)
    }

    func addAuthenticatedRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("users/logout", use: logout)
        group.get("users", use: listUsers)
        group.post("users", use: createUser)
        group.get("users/:user", use: getUser)
        group.put("users/:user/status/suspend") { try await setStatus($0, $1, .suspended) }
        group.put("users/:user/status/activate") { try await setStatus($0, $1, .active) }
        group.get("users/:user/organizations", use: userOrganizations)
        group.post("users/:user/keys", use: createKey)
    }

    // MARK: first user

    @Sendable func checkFirstUser(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard try await store.hasAnyUser() else {
            throw APIError(.notFound, "The initial user has not been created!")
        }
        return try JSON.response(MessageJSON(message: "The initial user has already been created!"))
    }

    @Sendable func createFirstUser(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: CreateFirstUserRequest.self)
        var validator = Validator()
        let email = validator.email("email", body.email)
        let username = validator.username("username", body.username)
        let password = validator.required("password", body.password)
        try validator.check()
        try checkStrength(password!)
        if try await store.hasAnyUser() {
            throw APIError(.conflict, "The initial user has already been created.")
        }
        let new = NewUser(
            email: email!, username: username!, hashedPassword: try await Passwords.hashOffloaded(password!),
            siteRoles: [Role.owner.rawValue], organizationID: nil
        )
        do {
            let (user, organization) = try await store.createFirstUser(new, organizationName: "coder")
            return try JSON.response(CreateFirstUserResponse(user_id: user.id, organization_id: organization.id), status: .created)
        } catch StoreError.alreadyInitialized {
            throw APIError(.conflict, "The initial user has already been created.")
        }
    }

    // MARK: sessions

    @Sendable func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: LoginRequest.self)
        var validator = Validator()
        let email = validator.email("email", body.email)
        let password = validator.required("password", body.password)
        try validator.check()
        // Checked before the password, so that a locked-out account cannot be probed further;
        // unknown emails count too, so the answer does not reveal which accounts exist.
        let address = proxyTrust.clientAddress(peer: context.peerAddress, headers: request.headers)
        let attempt: LoginThrottle.Attempt
        switch loginThrottle.begin(account: email!, address: address) {
        case .success(let counted):
            attempt = counted
        case .failure(let later):
            throw APIError(
                .tooManyRequests, "Too many failed login attempts. Try again later.",
                detail: "Retry after \(later.after.retryAfterSeconds) seconds.", headers: [.retryAfter: "\(later.after.retryAfterSeconds)"]
            )
        }
        let user = try await store.user(email: email!)
        // Hash even for an unknown email, so timing does not reveal which addresses exist.
        let stored = user?.hashedPassword ?? Self.dummyHash
        let valid = await Passwords.verifyOffloaded(password!, against: stored)
        guard let user, valid, !user.hashedPassword.isEmpty else {
            // Already counted by `begin`.
            throw APIError(.unauthorized, "Incorrect email or password.")
        }
        loginThrottle.succeeded(attempt)
        guard user.status != .suspended else {
            throw APIError(.unauthorized, "Your account is suspended. Contact an admin to reactivate your account.")
        }
        if Passwords.needsRehash(user.hashedPassword) {
            // The cost was raised since this hash was made: the password is at hand only now.
            do {
                try await store.setPasswordHash(userID: user.id, try await Passwords.hashOffloaded(password!), replacing: user.hashedPassword)
            } catch {
                context.logger.warning("re-hashing a password failed; the old hash stays", metadata: ["user_id": "\(user.id)", "error": "\(error)"])
            }
        }
        let token = try await authenticator.issueKey(for: user.id, loginType: "password", lifetime: Authenticator.sessionLifetime)
        var headers = HTTPFields()
        headers[.setCookie] = sessionCookie(token, maxAge: Int(Authenticator.sessionLifetime))
        return try JSON.response(LoginResponse(session_token: token), status: .created, headers: headers)
    }

    @Sendable func logout(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        try await authenticator.revokeKey(id: subject.apiKeyID)
        var headers = HTTPFields()
        headers[.setCookie] = sessionCookie("", maxAge: -1)
        return try JSON.response(MessageJSON(message: "Successfully logged out."), headers: headers)
    }

    private func sessionCookie(_ value: String, maxAge: Int) -> String {
        "\(Authenticator.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (secureCookies ? "; Secure" : "")
    }

    static let dummyHash = (try? Passwords.hash(Tokens.random(16))) ?? ""

    // MARK: users

    @Sendable func listUsers(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let query = request.uri.queryParameters
        var search: String?
        var status: UserStatus?
        for term in (query["q"].map(String.init) ?? "").split(separator: " ") {
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
        let limit = try query["limit"].map { raw -> Int in
            guard let value = Int(raw), value >= 0 else {
                throw APIError(.badRequest, "Query parameter has invalid value.", validations: [.init(field: "limit", detail: "must be a non-negative integer")])
            }
            return value
        }
        let offset = try query["offset"].map { raw -> Int in
            guard let value = Int(raw), value >= 0 else {
                throw APIError(.badRequest, "Query parameter has invalid value.", validations: [.init(field: "offset", detail: "must be a non-negative integer")])
            }
            return value
        } ?? 0
        // Everyone sees the users they may read: all of them for owners and user admins, the
        // members of their own organizations for others.
        let visible = try await store.users(search: search, status: status, limit: nil, offset: 0)
            .filter { RBAC.can(subject, .read, .user(id: $0.id, organizations: $0.organizationIDs)) }
        let page = visible.dropFirst(offset).prefix(limit == nil || limit == 0 ? Int.max : limit!)
        return try JSON.response(UsersResponse(users: page.map(UserJSON.init), count: visible.count))
    }

    @Sendable func createUser(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        guard RBAC.can(subject, .create, .user(id: UUID(), organizations: [])) else { throw APIError.forbidden }
        let body = try await request.decodeJSON(as: CreateUserRequest.self)
        var validator = Validator()
        let email = validator.email("email", body.email)
        let username = validator.username("username", body.username)
        let loginType = body.login_type ?? "password"
        if !["password", "none"].contains(loginType) {
            validator.fail("login_type", tag: "oneof", value: loginType)
        }
        let password = loginType == "password" ? validator.required("password", body.password) : nil
        if loginType == "none", let given = body.password, !given.isEmpty {
            validator.fail("password", detail: "a user with login type \"none\" cannot have a password")
        }
        if body.organization_id == nil { validator.fail("organization_id", tag: "required", value: "") }
        try validator.check()
        if let password { try checkStrength(password) }
        guard let organization = try await store.organization(id: body.organization_id!),
              RBAC.can(subject, .read, .organization(id: organization.id))
        else {
            throw APIError(.notFound, "Organization does not exist with the provided id \"\(body.organization_id!)\".")
        }
        let hashedPassword = if let password { try await Passwords.hashOffloaded(password) } else { "" }
        let new = NewUser(
            email: email!, username: username!, hashedPassword: hashedPassword,
            loginType: loginType, organizationID: organization.id
        )
        do {
            return try JSON.response(UserJSON(try await store.createUser(new)), status: .created)
        } catch StoreError.conflict(let field) {
            throw APIError(.conflict, "User already exists.", validations: [.init(field: field, detail: "this value is already in use and should be unique")])
        }
    }

    @Sendable func getUser(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try await context.userParameter(store)
        guard RBAC.can(try context.requireSubject(), .read, .user(id: user.id, organizations: user.organizationIDs)) else {
            throw APIError.resourceNotFound
        }
        return try JSON.response(UserJSON(user))
    }

    func setStatus(_ request: Request, _ context: AppRequestContext, _ status: UserStatus) async throws -> Response {
        let subject = try context.requireSubject()
        let user = try await context.userParameter(store)
        guard RBAC.can(subject, .read, .user(id: user.id, organizations: user.organizationIDs)) else {
            throw APIError.resourceNotFound
        }
        if status == .suspended, user.id == subject.userID {
            throw APIError(.badRequest, "You cannot suspend yourself.")
        }
        guard RBAC.can(subject, .update, .userAdministration(id: user.id, isOwner: user.siteRoles.contains(Role.owner.rawValue))) else {
            throw APIError.forbidden
        }
        let updated = try await store.setUserStatus(id: user.id, status)
        await authenticator.userStatusChanged(user.id)
        return try JSON.response(UserJSON(updated))
    }

    @Sendable func userOrganizations(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let user = try await context.userParameter(store)
        guard RBAC.can(subject, .read, .user(id: user.id, organizations: user.organizationIDs)) else {
            throw APIError.resourceNotFound
        }
        let organizations = try await store.organizations(userID: user.id)
            .filter { RBAC.can(subject, .read, .organization(id: $0.id)) }
        return try JSON.response(organizations.map(OrganizationJSON.init))
    }

    @Sendable func createKey(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let user = try await context.userParameter(store)
        guard RBAC.can(subject, .read, .user(id: user.id, organizations: user.organizationIDs)) else {
            throw APIError.resourceNotFound
        }
        guard RBAC.can(subject, .create, .apiKey(owner: user.id)) else { throw APIError.forbidden }
        let token = try await authenticator.issueKey(for: user.id, loginType: "token", lifetime: Authenticator.tokenLifetime)
        return try JSON.response(KeyResponse(key: token), status: .created)
    }

    private func checkStrength(_ password: String) throws {
        if let problem = Passwords.strengthProblem(password) {
            throw APIError(.badRequest, "Password not strong enough!", validations: [.init(field: "password", detail: problem)])
        }
    }
}

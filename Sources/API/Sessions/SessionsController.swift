import Foundation
import Hummingbird
import Licensing
import Store

/// First-user setup, login and logout (Coder's `/api/v2/users/first`, `/users/login`, `/users/logout`).
///
/// A login's session key and a logout's deletion of it are audited (`api_key`, create and
/// delete; Coder's actions `login` and `logout` are not among the seed's and our table's). A
/// failed login changes nothing and writes no row. The first user is not audited, as in Coder:
/// no license, so no audit log, can exist before it. The request bodies are in
/// `SessionRequests.swift`, the answers in `SessionResponses.swift`.
struct SessionsController: ResourceController {
    let store: Store
    let authenticator: Authenticator
    let secureCookies: Bool
    let loginThrottle: LoginThrottle
    let proxyTrust: ProxyTrust
    /// Installs the deployment's trial when the first user asks for one.
    let licensing: LicensingServices?
    let audit: AuditRecorder
    /// The cost new password hashes are made at, and below which a login re-hashes
    /// (`APIServer.Configuration.passwordHashing`).
    let passwordHashing: Passwords.Parameters

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("users/first", use: checkFirstUser)
        routes.post("users/first", use: createFirstUser)
        routes.post("users/login", use: login)
        let signedIn = guards.signedIn(routes)
        signedIn.post("users/logout", use: logout)
        return routes
    }

    @Sendable func checkFirstUser(_ request: Request, _ context: AppRequestContext) async throws -> MessageJSON {
        guard try await store.hasAnyUser() else {
            throw APIError(.notFound, "The initial user has not been created!")
        }
        return MessageJSON(message: "The initial user has already been created!")
    }

    @Sendable func createFirstUser(_ request: Request, _ context: AppRequestContext) async throws -> Created<CreateFirstUserResponse> {
        let body = try await request.decode(as: CreateFirstUserRequest.self, context: context)
        try Passwords.checkStrength(body.password)
        if try await store.hasAnyUser() {
            throw APIError(.conflict, "The initial user has already been created.")
        }
        let new = NewUser(
            email: body.email, username: body.username, hashedPassword: try await Passwords.hashOffloaded(body.password, parameters: passwordHashing),
            siteRoles: [Role.owner.rawValue], organizationID: nil
        )
        let trial = try body.trial ? licensing.map { try trialLicense(for: body.email, services: $0) } : nil
        do {
            let (user, organization) = try await store.createFirstUser(new, organizationName: "coder", license: trial)
            if trial != nil { try? await licensing?.entitlements.refresh() }
            return Created(CreateFirstUserResponse(user_id: user.id, organization_id: organization.id))
        } catch StoreError.alreadyInitialized {
            throw APIError(.conflict, "The initial user has already been created.")
        }
    }

    /// The deployment's one trial: every feature for 30 days, no grace, signed by the key the
    /// deployment made for itself (trusted for such trials only) and bound to this deployment.
    /// It is installed with the first user, so there is never a second.
    private func trialLicense(for email: String, services: LicensingServices) throws -> NewLicense {
        let now = Date()
        let end = now.addingTimeInterval(LicenseVerifier.maximumTrial)
        var claims = LicenseClaims(issuedAt: now, licenseExpires: end, graceEnds: end)
        claims.subject = email
        claims.accountType = "trial"
        claims.accountID = services.deploymentID.uuidString.lowercased()
        claims.trial = true
        claims.allFeatures = true
        claims.deploymentIDs = [services.deploymentID.uuidString.lowercased()]
        return NewLicense(jwt: try services.trialIssuer.issue(claims), expires: end, uuid: claims.id)
    }

    @Sendable func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        // Checked before the password, so that a locked-out account cannot be probed further;
        // unknown emails count too, so the answer does not reveal which accounts exist.
        let address = proxyTrust.clientAddress(peer: context.peerAddress, headers: request.headers)
        if let address, let wait = loginThrottle.retryAfter(address: address) { throw Self.tooManyFailures(wait) }
        // Counted under the account the email resolves to, so that every spelling the lookup
        // takes for the same user shares one lock (see `Store.loginAccount`: one statement,
        // known email or not).
        let (user, account) = try await store.loginAccount(email: body.email)
        let attempt: LoginThrottle.Attempt
        switch loginThrottle.begin(account: account, address: address) {
        case .success(let counted):
            attempt = counted
        case .failure(let later):
            throw Self.tooManyFailures(later.after)
        }
        // Hash even for an unknown email, so timing does not reveal which addresses exist.
        let stored = user?.hashedPassword ?? dummyHash()
        let valid = await Passwords.verifyOffloaded(body.password, against: stored)
        guard let user, valid, !user.hashedPassword.isEmpty else {
            // Already counted by `begin`.
            throw APIError(.unauthorized, "Incorrect email or password.")
        }
        loginThrottle.succeeded(attempt)
        guard user.status != .suspended else {
            throw APIError(.unauthorized, "Your account is suspended. Contact an admin to reactivate your account.")
        }
        if Passwords.needsRehash(user.hashedPassword, target: passwordHashing) {
            // The cost was raised since this hash was made: the password is at hand only now.
            do {
                let rehashed = try await Passwords.hashOffloaded(body.password, parameters: passwordHashing)
                try await store.setPasswordHash(userID: user.id, rehashed, replacing: user.hashedPassword)
            } catch {
                context.logger.warning("re-hashing a password failed; the old hash stays", metadata: ["user_id": "\(user.id)", "error": "\(error)"])
            }
        }
        // A public route: the trail is made here (the user it logs in acts).
        let audit = self.audit.trail(request, context)
        let token = try await authenticator.issueKey(for: user.id, loginType: "password", lifetime: Authenticator.sessionLifetime) { key in
            try AuditRecorder.apiKeyEntry(audit, key: key, action: .create, status: .created, actingUserID: user.id)
        }
        var headers = HTTPFields()
        headers[.setCookie] = sessionCookie(token, maxAge: Int(Authenticator.sessionLifetime))
        return try JSON.response(LoginResponse(session_token: token), status: .created, headers: headers)
    }

    @Sendable func logout(_ request: Request, _ context: SignedInContext) async throws -> Response {
        let audit = context.audit
        try await authenticator.revokeKey(id: context.subject.apiKeyID) { key in
            try AuditRecorder.apiKeyEntry(audit, key: key, action: .delete, status: .ok)
        }
        var headers = HTTPFields()
        headers[.setCookie] = sessionCookie("", maxAge: -1)
        return try JSON.response(MessageJSON(message: "Successfully logged out."), headers: headers)
    }

    private func sessionCookie(_ value: String, maxAge: Int) -> String {
        "\(Authenticator.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (secureCookies ? "; Secure" : "")
    }

    private static func tooManyFailures(_ wait: Duration) -> APIError {
        APIError(
            .tooManyRequests, "Too many failed login attempts. Try again later.",
            detail: "Retry after \(wait.retryAfterSeconds) seconds.", headers: [.retryAfter: "\(wait.retryAfterSeconds)"]
        )
    }

    /// What an unknown email's login verifies against, made at the cost real hashes are, so that
    /// it takes as long as a known one's. Production's is made once; a test's cheap cost, each time.
    private func dummyHash() -> String {
        if passwordHashing == .current { return Self.currentDummyHash }
        return (try? Passwords.hash(Tokens.random(16), parameters: passwordHashing)) ?? ""
    }

    private static let currentDummyHash = (try? Passwords.hash(Tokens.random(16))) ?? ""
}

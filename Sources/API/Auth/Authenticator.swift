import Foundation
import HTTPTypes
import Logging
import Pubsub
import Store
import Synchronization

/// Resolves a presented session token to a `Subject`.
///
/// Verified keys are cached for up to `cacheLifetime`, so that hot endpoints (`/replicas` under a
/// dashboard's load) do not touch the database to authenticate. Every replica drops a cached key
/// as soon as it is revoked anywhere: logout publishes the key id on `api_key_revoked`, the
/// database announces every change of a user's status, roles or memberships on
/// `user_status_changed` (migration 13), and a pubsub resync clears the cache. The same
/// announcements re-check the WebSockets the user holds (`AuthenticatedSockets`).
public final class Authenticator: Sendable {
    public static let cookieName = "coder_session_token"
    public static let headerName = HTTPField.Name("Coder-Session-Token")!
    static let sessionLifetime: TimeInterval = 24 * 3600
    static let tokenLifetime: TimeInterval = 30 * 24 * 3600
    static let refreshEvery: TimeInterval = 60
    static let keyRevokedChannel = "api_key_revoked"
    static let userStatusChannel = "user_status_changed"

    private struct CachedKey {
        var key: APIKey
        var subject: Subject
        var cachedAt: Date
        var lastRefresh: Date
    }

    let store: Store
    private let pubsub: Pubsub?
    private let cacheLifetime: TimeInterval
    private let cache = Mutex<[String: CachedKey]>([:])
    /// Open WebSockets opened with a session token, closed when it stops authenticating or its
    /// user loses the permission it was opened with.
    public let sockets: AuthenticatedSockets
    private let logger = Logger(label: "api.authenticator")
    /// The time the cache and new keys go by; a test moves it instead of waiting.
    private let now: @Sendable () -> Date

    public init(store: Store, pubsub: Pubsub? = nil, cacheLifetime: TimeInterval = 60, now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.pubsub = pubsub
        self.cacheLifetime = pubsub == nil ? 0 : cacheLifetime
        self.now = now
        self.sockets = AuthenticatedSockets(store: store)
    }

    /// Follows revocations from every replica until cancelled.
    public func followRevocations() async {
        guard let pubsub else { return }
        let revoked = pubsub.subscribe(Self.keyRevokedChannel)
        let statuses = pubsub.subscribe(Self.userStatusChannel)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in revoked {
                    switch event {
                    case .message(let keyID):
                        self.cache.withLock { _ = $0.removeValue(forKey: keyID) }
                        await self.sockets.close(apiKeyID: keyID, reason: "session token revoked")
                    case .resync:
                        self.cache.withLock { $0.removeAll() }
                        await self.sockets.check(store: self.store, logger: self.logger)
                    }
                }
            }
            group.addTask {
                for await event in statuses {
                    switch event {
                    case .message(let raw):
                        guard let userID = UUID(uuidString: raw) else { continue }
                        await self.userChanged(userID)
                    case .resync:
                        self.cache.withLock { $0.removeAll() }
                        await self.sockets.check(store: self.store, logger: self.logger)
                        // Announcements may have been lost meanwhile: every user's roles, again.
                        await self.sockets.recheckAll()
                    }
                }
            }
            group.addTask {
                // Expiry is not announced: every open socket's key is checked once a second.
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.sockets.checkInterval)
                    await self.sockets.check(store: self.store, logger: self.logger)
                }
            }
        }
    }

    /// Where a presented token was found. Only a cookie is sent by a browser on its own, to any
    /// site's request, so only a cookie needs the request's origin checked.
    public enum TokenSource: Sendable, Equatable {
        case header, cookie, query
    }

    /// The token from the header, the cookie or the query, in that order.
    static func presentedToken(headers: HTTPFields, query: [String: String]) -> String? {
        presentedCredential(headers: headers, query: query)?.token
    }

    /// The token and where it was found: the header, the cookie or the query, in that order.
    static func presentedCredential(headers: HTTPFields, query: [String: String]) -> (token: String, source: TokenSource)? {
        if let header = headers[headerName], !header.isEmpty { return (header, .header) }
        for cookieHeader in headers[values: .cookie] {
            for pair in cookieHeader.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == cookieName, !parts[1].isEmpty { return (String(parts[1]), .cookie) }
            }
        }
        if let value = query[cookieName], !value.isEmpty { return (value, .query) }
        return nil
    }

    /// The session token of a WebSocket upgrade, or nil if none was presented. WebSockets are not
    /// covered by CORS: any page a user visits may open one to us, and the browser adds the session
    /// cookie. So a cookie-authenticated upgrade whose `Origin` is not the access URL's is refused
    /// (403). Without an `Origin` the client is not a browser, and a header or query token (or the
    /// PSK, which callers check before this) cannot have been added by a browser on its own: those
    /// need no origin.
    public static func webSocketToken(headers: HTTPFields, query: [String: String], accessURL: String) throws -> String? {
        guard let (token, source) = presentedCredential(headers: headers, query: query) else { return nil }
        if source == .cookie, let origin = headers[.origin] {
            guard let expected = Self.origin(of: accessURL), Self.origin(of: origin) == expected else {
                throw APIError(.forbidden, "Request Origin \"\(origin)\" is not the access URL's; cookie-authenticated WebSockets must come from \(Self.origin(of: accessURL) ?? accessURL).")
            }
        }
        return token
    }

    /// `scheme://host[:port]`, lowercased, the port left out when it is the scheme's default.
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host?.lowercased(), !host.isEmpty else { return nil }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        let port = components.port.flatMap { $0 == defaultPort ? nil : $0 }
        return "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")"
    }

    func authenticate(token: String) async throws -> Subject {
        guard let (id, secret) = Tokens.split(token) else { throw APIError.signedOut }
        let now = self.now()
        if let cached = cache.withLock({ $0[id] }), now.timeIntervalSince(cached.cachedAt) < cacheLifetime {
            guard Tokens.matches(secret: secret, stored: cached.key.hashedSecret), cached.key.expiresAt > now else {
                throw APIError.signedOut
            }
            if now.timeIntervalSince(cached.lastRefresh) > Self.refreshEvery {
                cache.withLock { $0[id]?.lastRefresh = now }
                let key = cached.key
                Task { try? await self.refresh(key, now: now) }
            }
            return cached.subject
        }
        guard let key = try await store.apiKey(id: id), Tokens.matches(secret: secret, stored: key.hashedSecret) else {
            throw APIError.signedOut
        }
        guard key.expiresAt > now else { throw APIError.signedOut }
        guard let user = try await store.user(id: key.userID) else { throw APIError.signedOut }
        guard user.status != .suspended else {
            throw APIError(.unauthorized, "User is not active (status = \"suspended\"). Contact an admin to reactivate your account.")
        }
        var current = key
        if now.timeIntervalSince(key.lastUsed) > Self.refreshEvery {
            current = try await refresh(key, now: now)
        }
        let subject = Self.subject(of: user, memberships: try await store.memberships(userID: user.id), apiKeyID: key.id)
        if cacheLifetime > 0 {
            cache.withLock { $0[id] = CachedKey(key: current, subject: subject, cachedAt: now, lastRefresh: now) }
        }
        return subject
    }

    /// Marks the key used and slides a session key's expiry; returns the key as now stored.
    @discardableResult
    private func refresh(_ key: APIKey, now: Date) async throws -> APIKey {
        var key = key
        if key.loginType == "password" { key.expiresAt = now.addingTimeInterval(TimeInterval(key.lifetimeSeconds)) }
        try await store.refreshAPIKey(id: key.id, extendTo: key.loginType == "password" ? key.expiresAt : nil)
        try await store.touchLastSeen(userID: key.userID)
        return key
    }

    /// Creates a key for `userID` and returns the token to hand out (the only time it exists in
    /// clear). `audit` answers the key's audit row (see `AuditRecorder.apiKeyEntry`), stored with
    /// the key in one transaction; it sees the key's id and hash, never the token.
    func issueKey(
        for userID: UUID, loginType: String, lifetime: TimeInterval, audit: (@Sendable (APIKey) throws -> AuditEntry?)? = nil
    ) async throws -> String {
        let (id, secret, token) = Tokens.generate()
        let key = APIKey(
            id: id, hashedSecret: Tokens.hash(secret: secret), userID: userID, loginType: loginType,
            lifetimeSeconds: Int64(lifetime), expiresAt: now().addingTimeInterval(lifetime),
            createdAt: now(), lastUsed: now()
        )
        try await store.insertAPIKey(key, audit: try audit?(key))
        return token
    }

    /// Deletes the key everywhere; `audit` answers the deletion's audit row, written with it.
    func revokeKey(id: String, audit: (@Sendable (APIKey) throws -> AuditEntry?)? = nil) async throws {
        try await store.deleteAPIKey(id: id, audit: audit)
        cache.withLock { _ = $0.removeValue(forKey: id) }
        try? await pubsub?.publish(Self.keyRevokedChannel, id)
        await sockets.close(apiKeyID: id, reason: "session token revoked")
    }

    /// Who `user` is to RBAC: their site roles and their organizations' roles.
    static func subject(of user: User, memberships: [OrganizationMembership], apiKeyID: String) -> Subject {
        Subject(
            userID: user.id,
            username: user.username,
            siteRoles: Set(user.siteRoles),
            organizations: Dictionary(memberships.map { ($0.organizationID, Set($0.roles)) }, uniquingKeysWith: { a, _ in a }),
            apiKeyID: apiKeyID
        )
    }

    /// What each of `userIDs` may do now, for re-checking their open sockets, in two queries; a
    /// user gone or suspended has none (nothing). The key id is left empty: permissions never look at it.
    static func currentSubjects(userIDs: [UUID], store: Store) async throws -> [UUID: Subject] {
        let users = try await store.users(ids: userIDs)
        let memberships = try await store.memberships(userIDs: userIDs)
        var subjects: [UUID: Subject] = [:]
        for user in users where user.status != .suspended {
            subjects[user.id] = subject(of: user, memberships: memberships[user.id] ?? [], apiKeyID: "")
        }
        return subjects
    }

    /// A user's status, roles or memberships changed: their cached keys are dropped (the next
    /// request reads them anew) and each of their sockets whose permission they lost is closed
    /// (all of them for a suspended user). Every replica does this when the database announces
    /// the change on `user_status_changed`, in the transaction that makes it (migration 13),
    /// whichever path made it; the request that made it calls this too, so that its own answer
    /// already holds on this replica.
    func userChanged(_ userID: UUID) async {
        cache.withLock { $0 = $0.filter { $0.value.key.userID != userID } }
        sockets.noteChange(userID: userID)
        await sockets.recheck(userID: userID)
    }
}

import Foundation
import Hummingbird
import Store
import WireFormat

/// What a daemon's upgrade authenticates with: the pre-shared key, or a session token (from a
/// cookie only with the access URL's Origin: a browser adds the cookie to any page's WebSocket).
/// The serve route authenticates itself, before the authentication middleware.
struct DaemonCredential: Sendable {
    /// The token's user; nil for the pre-shared key.
    let subject: Subject?
    /// Before the subject is read: a role change announced after this re-checks the socket.
    let authenticatedAt: ContinuousClock.Instant

    init(_ request: Request, preSharedKey: String?, authenticator: Authenticator, accessURL: String) async throws {
        authenticatedAt = ContinuousClock.now
        if let presentedPSK = request.headers[ProvisionerDaemonsController.pskHeader] {
            guard let configured = preSharedKey, !configured.isEmpty else {
                throw APIError(.badRequest, "External provisioner daemons not enabled")
            }
            guard Tokens.constantTimeEqual(presentedPSK, configured) else {
                throw APIError(.unauthorized, "provisioner daemon auth token invalid")
            }
            subject = nil
        } else if let token = try Authenticator.webSocketToken(
            headers: request.headers,
            query: Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { a, _ in a }),
            accessURL: accessURL
        ) {
            subject = try await authenticator.authenticate(token: token)
        } else {
            throw APIError(.unauthorized, "provisioner daemon auth token required")
        }
    }

    /// The registration's audit row says which kind of credential registered the daemon.
    var auditFields: JSONValue {
        .object(["credential": .string(subject == nil ? "psk" : "session_token")])
    }

    /// The organization: an id, a name, or `default` (as Coder's daemons address it). 404 unless
    /// the token's user may read it; the pre-shared key reaches any.
    func organization(_ raw: String, in store: Store) async throws -> Organization {
        let found: Organization? = if let id = UUID(uuidString: raw) {
            try await store.organization(id: id)
        } else if raw == "default" {
            try await store.defaultOrganization()
        } else {
            try await store.organization(name: raw)
        }
        guard let organization = found, subject.map({ RBAC.can($0, .read, .organization(id: organization.id)) }) ?? true else {
            throw APIError.resourceNotFound
        }
        return organization
    }
}

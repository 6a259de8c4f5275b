import Crypto
import Foundation
import Hummingbird
import Store
import WireFormat

/// Makes the audit trail of a request (`AuditTrail`): who acts, from where, under which request
/// id. Signed-in routes find theirs on the context (`context.audit`, set by the authentication
/// middleware); a public route that changes something (a login) makes one with `trail(_:_:)`.
///
/// How a mutating handler records its change:
///
/// ```swift
/// let audit = context.audit
/// let created = try await store.createGroup(new) { group in
///     try audit.record(.group, id: group.id, target: group.name, action: .create, new: AuditedGroup(group),
///                      organization: group.organizationID, status: .created)
/// }
/// ```
///
/// The Store function calls the closure inside its transaction and writes the entry there
/// (`Self.recordAudit(entry, on: connection)`), so the change and its row commit together, and a
/// change that fails leaves no row (unlike Coder, which also logs refused requests); `status` is
/// the status the request answers with on success. `record` answers nil while the `audit_log`
/// feature is off: rows are written only while it is (Coder's enterprise audit backend).
struct AuditRecorder: Sendable {
    let features: any FeatureProvider
    let proxyTrust: ProxyTrust

    /// Longest user agent kept: the header is the client's to fill, the row is ours to store.
    static let maximumUserAgentLength = 1024

    /// The trail of `request`: its subject (if any yet) and what its row will say of where it came
    /// from. Made on every signed-in request, so it only keeps what it was given: the address, the
    /// user agent and the request's UUID are worked out when a row is recorded.
    func trail(_ request: Request, _ context: AppRequestContext) -> AuditTrail {
        AuditTrail(
            features: features,
            userID: context.subject?.userID,
            origin: AuditTrail.Origin(proxyTrust: proxyTrust, peerAddress: context.peerAddress, headers: request.headers, requestID: context.id)
        )
    }

    /// The proxy-aware client address (as the login throttle sees it), if it is one PostgreSQL's
    /// `inet` reads: a value it refused would fail the change it records.
    static func clientAddress(_ proxyTrust: ProxyTrust, peer: String?, headers: HTTPFields) -> String? {
        guard let address = proxyTrust.clientAddress(peer: peer, headers: headers),
              IPNetwork.parseAddress(address) != nil
        else { return nil }
        return address
    }

    /// A value as the API writes it, read back as JSON.
    static func snapshot(_ value: any Encodable) throws -> JSONValue {
        try WireJSON.decode(JSONValue.self, from: Data(WireJSON.encode(value)))
    }

    /// The request id (`X-Request-Id`, Hummingbird's hex id of up to 128 bits) as a UUID: the
    /// same hex digits, left-padded with zeros, so a row leads back to the request's log lines.
    /// An id of another shape is hashed (SHA-256), which is as stable.
    static func requestUUID(_ id: String) -> UUID {
        var hex = id.lowercased()
        if hex.isEmpty || hex.count > 32 || !hex.allSatisfy({ $0.isASCII && $0.isHexDigit }) {
            hex = SHA256.hash(data: Data(id.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        }
        let digits = Array(String(repeating: "0", count: 32 - hex.count) + hex)
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(digits[$0]) }
        // 32 hex digits in 8-4-4-4-12 always parse; the fallback keeps this free of a force unwrap.
        return UUID(uuidString: groups.joined(separator: "-")) ?? UUID()
    }
}

extension AuditRecorder {
    /// What the audit log shows of an API key: never its secret nor the secret's hash (no field
    /// holds either, so no diff can), only what says whose key it is and for how long.
    struct AuditedAPIKey: Encodable {
        let id: String
        let user_id: UUID
        let login_type: String
        let lifetime_seconds: Int64
        let expires_at: Date
        let created_at: Date

        init(_ key: APIKey) {
            id = key.id
            user_id = key.userID
            login_type = key.loginType
            lifetime_seconds = key.lifetimeSeconds
            expires_at = key.expiresAt
            created_at = key.createdAt
        }
    }

    /// The row of an API key's creation (a login, a token) or deletion (a logout). A key's id is
    /// ten characters, not a UUID: the row's resource id is a UUID derived from it
    /// (`apiKeyResourceID`), the same for the key's creation and its deletion, and its target is
    /// the key's id (which is not secret: the token is the id and a 22-character secret). The
    /// key's owner is in the diff's `user_id`. `actingUserID` is the actor when the request has
    /// no subject (a login acts as the user it logs in, as in Coder).
    static func apiKeyEntry(
        _ trail: AuditTrail, key: APIKey, action: AuditAction, status: HTTPResponse.Status, actingUserID: UUID? = nil
    ) throws -> AuditEntry? {
        let snapshot: any Encodable = AuditedAPIKey(key)
        var made = try trail.record(
            .apiKey, id: apiKeyResourceID(key.id), target: key.id, action: action,
            old: action == .delete ? snapshot : nil, new: action == .delete ? nil : snapshot, status: status
        )
        if made?.userID == nil, let actingUserID { made?.userID = actingUserID }
        return made
    }

    /// The audit resource id of the API key `keyID`.
    static func apiKeyResourceID(_ keyID: String) -> UUID {
        derivedUUID("api_key:" + keyID)
    }

    /// A UUID that only `name` gives: the first 16 bytes of its SHA-256, marked as an RFC 9562
    /// version 8 (custom) UUID. For resources whose ids are not UUIDs.
    static func derivedUUID(_ name: String) -> UUID {
        var b = Array(SHA256.hash(data: Data(name.utf8)).prefix(16))
        b[6] = (b[6] & 0x0F) | 0x80
        b[8] = (b[8] & 0x3F) | 0x80
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}

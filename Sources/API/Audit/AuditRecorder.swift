import Crypto
import Foundation
import Hummingbird
import Store
import WireFormat

/// Builds the audit entry of a mutating request, for the Store function that makes the change
/// to write in the same transaction. It answers nil while the `audit_log` feature is not
/// enabled: rows are written only while it is (Coder's enterprise audit backend).
///
/// How a mutating handler uses it (the controller holds `audit`, from `APIServer.audit`):
///
/// ```swift
/// let entry = try audit.entry(
///     request, context, resourceType: .license, resourceID: license.uuid, target: "\(license.id)",
///     action: .create, new: LicenseJSON(license), status: .created
/// )
/// let created = try await store.addLicense(license, audit: entry)   // inserts `entry` in its transaction
/// return Created(LicenseJSON(created))
/// ```
///
/// and the Store function, inside its `pool.withTransaction { connection in … }`, calls
/// `try Self.recordAudit(entry, on: connection)` after its own statements. A change that fails
/// rolls back with its row; so only changes that happened are recorded (unlike Coder, which also
/// logs refused requests), and `status` is the status the request answers with on success.
/// A change whose old state is read inside the transaction can build its entry there too, from
/// `AuditDiff.between` and a copy of this entry with the diff set.
struct AuditRecorder: Sendable {
    let features: any FeatureProvider
    let proxyTrust: ProxyTrust

    /// Longest user agent kept: the header is the client's to fill, the row is ours to store.
    static let maximumUserAgentLength = 1024

    /// The entry for `request`, or nil while the audit log is off. `old` and `new` are snapshots
    /// of the resource before and after (nil before a create, after a delete), encoded as the API
    /// writes them (`WireJSON`), and diffed field by field; `secretFields` show only that they
    /// changed. `organizationID` is nil for deployment-wide resources.
    func entry(
        _ request: Request, _ context: AppRequestContext,
        resourceType: AuditResourceType, resourceID: UUID, target: String, action: AuditAction,
        old: (any Encodable)? = nil, new: (any Encodable)? = nil, secretFields: Set<String> = [],
        organizationID: UUID? = nil, status: HTTPResponse.Status, additionalFields: JSONValue = .object([:])
    ) throws -> AuditEntry? {
        guard features.isEnabled(.auditLog) else { return nil }
        return AuditEntry(
            userID: context.subject?.userID,
            organizationID: organizationID,
            ip: clientAddress(request, context),
            userAgent: String((request.headers[.userAgent] ?? "").prefix(Self.maximumUserAgentLength)),
            resourceType: resourceType,
            resourceID: resourceID,
            resourceTarget: target,
            action: action,
            diff: AuditDiff.between(old: try old.map(Self.snapshot), new: try new.map(Self.snapshot), secretFields: secretFields),
            statusCode: Int(status.code),
            additionalFields: additionalFields,
            requestID: Self.requestUUID(context.id)
        )
    }

    /// The proxy-aware client address (as the login throttle sees it), if it is one PostgreSQL's
    /// `inet` reads: a value it refused would fail the change it records.
    func clientAddress(_ request: Request, _ context: AppRequestContext) -> String? {
        guard let address = proxyTrust.clientAddress(peer: context.peerAddress, headers: request.headers),
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
    /// `entry` for a change whose snapshots exist only inside the Store's transaction (the
    /// group as re-read there, its new id): the Store calls the closure there.
    typealias Deferred = @Sendable (
        _ type: AuditResourceType, _ id: UUID, _ target: String, _ action: AuditAction,
        _ old: (any Encodable)?, _ new: (any Encodable)?, _ organizationID: UUID?, _ status: HTTPResponse.Status
    ) throws -> AuditEntry?

    func deferred(_ request: Request, _ context: AppRequestContext) -> Deferred {
        { type, id, target, action, old, new, organizationID, status in
            try entry(request, context, resourceType: type, resourceID: id, target: target, action: action,
                      old: old, new: new, organizationID: organizationID, status: status)
        }
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
    func apiKeyEntry(
        _ request: Request, _ context: AppRequestContext, key: APIKey, action: AuditAction, status: HTTPResponse.Status,
        actingUserID: UUID? = nil
    ) throws -> AuditEntry? {
        let snapshot: any Encodable = AuditedAPIKey(key)
        var made = try self.entry(
            request, context, resourceType: .apiKey, resourceID: Self.apiKeyResourceID(key.id), target: key.id, action: action,
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

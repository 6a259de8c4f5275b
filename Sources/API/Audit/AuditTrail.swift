import Foundation
import HTTPTypes
import Store
import WireFormat

/// One request's audit facts — who acts, from where, under which request id — and the one way
/// to turn a change into its audit row (see `AuditRecorder` for how a handler uses it). A value:
/// handlers hand it to the Store's closures, which run inside the change's transaction.
struct AuditTrail: Sendable {
    let features: any FeatureProvider
    /// The acting user; nil for a request with no subject (yet).
    let userID: UUID?
    let origin: Origin

    /// Where the request came from, as it arrived: read only when a row is made.
    struct Origin: Sendable {
        let proxyTrust: ProxyTrust
        let peerAddress: String?
        let headers: HTTPFields
        /// Hummingbird's request id (`X-Request-Id`).
        let requestID: String
    }

    /// The row of one change, or nil while the audit log is off. `old` and `new` are snapshots
    /// of the resource before and after (nil before a create, after a delete), encoded as the API
    /// writes them (`WireJSON`) and diffed field by field; `secretFields` show only that they
    /// changed. `organization` is nil for deployment-wide resources.
    func record(
        _ type: AuditResourceType, id: UUID, target: String, action: AuditAction,
        old: (any Encodable)? = nil, new: (any Encodable)? = nil, secretFields: Set<String> = [],
        organization: UUID? = nil, status: HTTPResponse.Status = .ok, additionalFields: JSONValue = .object([:])
    ) throws -> AuditEntry? {
        guard features.isEnabled(.auditLog) else { return nil }
        return AuditEntry(
            userID: userID,
            organizationID: organization,
            ip: AuditRecorder.clientAddress(origin.proxyTrust, peer: origin.peerAddress, headers: origin.headers),
            userAgent: String((origin.headers[.userAgent] ?? "").prefix(AuditRecorder.maximumUserAgentLength)),
            resourceType: type,
            resourceID: id,
            resourceTarget: target,
            action: action,
            diff: AuditDiff.between(
                old: try old.map(AuditRecorder.snapshot), new: try new.map(AuditRecorder.snapshot), secretFields: secretFields
            ),
            statusCode: Int(status.code),
            additionalFields: additionalFields,
            requestID: AuditRecorder.requestUUID(origin.requestID)
        )
    }
}

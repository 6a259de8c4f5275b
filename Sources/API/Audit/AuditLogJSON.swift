import Foundation
import Hummingbird
import Store
import WireFormat

/// One row of `GET /audit`, as Coder's `codersdk.AuditLog`: a deployment-wide row has the nil
/// uuid as its organization and an unknown address is "" (Go's zero values), and `user` is null
/// when the actor is gone.
struct AuditLogJSON: Encodable {
    let id: UUID
    let request_id: UUID
    let time: Date
    let organization_id: UUID
    let ip: String
    let user_agent: String
    let resource_type: String
    let resource_id: UUID
    let resource_target: String
    let resource_icon: String
    let action: String
    let diff: [String: AuditChange]
    let status_code: Int
    let additional_fields: JSONValue
    let description: String
    let resource_link: String
    let is_deleted: Bool
    let user: JSONNullable<UserJSON>

    static let nilUUID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    init(_ log: AuditLog) {
        let entry = log.entry
        id = entry.id
        request_id = entry.requestID
        time = entry.time
        organization_id = entry.organizationID ?? Self.nilUUID
        ip = entry.ip ?? ""
        user_agent = entry.userAgent
        resource_type = entry.resourceType.rawValue
        resource_id = entry.resourceID
        resource_target = entry.resourceTarget
        resource_icon = entry.resourceIcon
        action = entry.action.rawValue
        diff = entry.diff
        status_code = entry.statusCode
        additional_fields = entry.additionalFields
        description = Self.description(entry)
        resource_link = ""
        is_deleted = false
        user = JSONNullable(log.user.map(UserJSON.init))
    }

    /// Coder's `auditLogDescription`, which the UI fills in: "{user} created license {target}".
    static func description(_ entry: AuditEntry) -> String {
        "{user} \(entry.action.friendly) \(entry.resourceType.friendly) {target}"
    }
}

struct AuditLogsResponse: ResponseEncodable {
    let audit_logs: [AuditLogJSON]
    let count: Int
}

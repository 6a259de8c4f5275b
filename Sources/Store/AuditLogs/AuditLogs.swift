import Foundation
import Postgres
import WireFormat

/// What a request did to its resource (Coder's `database.AuditAction`, the ones that change
/// something; the table's CHECK allows exactly these).
public enum AuditAction: String, Sendable, Codable, CaseIterable, PostgresEncodable, PostgresDecodable {
    case create, write, delete

    /// As Coder's `AuditAction.Friendly`, for descriptions.
    public var friendly: String {
        switch self {
        case .create: "created"
        case .write: "updated"
        case .delete: "deleted"
        }
    }
}

/// What kind of thing an audit row is about, with Coder's names (`database.ResourceType`);
/// `appearance` and `provisioner_daemon` are ours (Coder audits neither), additive. A daemon's
/// registration has no Coder resource type close to it; `provisioner_daemon` is Coder's own name
/// for the thing (its RBAC resource and API key scope).
public enum AuditResourceType: String, Sendable, Codable, CaseIterable, PostgresEncodable, PostgresDecodable {
    case organization
    case template
    case templateVersion = "template_version"
    case user
    case workspace
    case workspaceBuild = "workspace_build"
    case gitSSHKey = "git_ssh_key"
    case apiKey = "api_key"
    case group
    case license
    case appearance
    case provisionerDaemon = "provisioner_daemon"

    /// As Coder's `ResourceType.FriendlyString`: the name in words ("template version").
    public var friendly: String { rawValue.replacingOccurrences(of: "_", with: " ") }
}

/// One field's change in an audit row, as Coder's `{"old","new","secret"}`. A secret field's
/// values are never stored: both are the zero value of its type, and `secret` says it changed.
public struct AuditChange: Sendable, Equatable, Codable {
    public var old: JSONValue
    public var new: JSONValue
    public var secret: Bool

    public init(old: JSONValue, new: JSONValue, secret: Bool = false) {
        self.old = old
        self.new = new
        self.secret = secret
    }

    private enum CodingKeys: String, CodingKey { case old, new, secret }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        old = try container.decodeIfPresent(JSONValue.self, forKey: .old) ?? .null
        new = try container.decodeIfPresent(JSONValue.self, forKey: .new) ?? .null
        secret = try container.decodeIfPresent(Bool.self, forKey: .secret) ?? false
    }

    /// Coder's `omitempty` on `old` and `new`: only a missing value (null) is left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if old != .null { try container.encode(old, forKey: .old) }
        if new != .null { try container.encode(new, forKey: .new) }
        try container.encode(secret, forKey: .secret)
    }
}

/// One audit row as it is written: who did what to which resource, from where, and how it
/// changed (Coder's `database.AuditLog`).
public struct AuditEntry: Sendable, Equatable {
    public var id: UUID
    public var time: Date
    /// The acting user; nil for a system actor. Not a foreign key: the row outlives the user.
    public var userID: UUID?
    /// Nil for deployment-wide resources (licenses, appearance).
    public var organizationID: UUID?
    /// The client's address (proxy-aware), nil when unknown.
    public var ip: String?
    public var userAgent: String
    public var resourceType: AuditResourceType
    public var resourceID: UUID
    /// The resource's human name (a group's name, a license's id…), shown as `{target}`.
    public var resourceTarget: String
    public var resourceIcon: String
    public var action: AuditAction
    public var diff: [String: AuditChange]
    /// The status the request answers with when the change commits.
    public var statusCode: Int
    public var additionalFields: JSONValue
    public var requestID: UUID

    public init(
        id: UUID = UUID(), time: Date = Date(), userID: UUID?, organizationID: UUID? = nil, ip: String? = nil, userAgent: String = "",
        resourceType: AuditResourceType, resourceID: UUID, resourceTarget: String, resourceIcon: String = "", action: AuditAction,
        diff: [String: AuditChange] = [:], statusCode: Int, additionalFields: JSONValue = .object([:]), requestID: UUID
    ) {
        self.id = id
        self.time = time
        self.userID = userID
        self.organizationID = organizationID
        self.ip = ip
        self.userAgent = userAgent
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.resourceTarget = resourceTarget
        self.resourceIcon = resourceIcon
        self.action = action
        self.diff = diff
        self.statusCode = statusCode
        self.additionalFields = additionalFields
        self.requestID = requestID
    }
}

/// An audit row as it is read: the entry and its acting user, nil when there was none or the
/// user no longer exists.
public struct AuditLog: Sendable, Equatable {
    public var entry: AuditEntry
    public var user: User?

    public init(entry: AuditEntry, user: User?) {
        self.entry = entry
        self.user = user
    }
}

/// Which audit rows to read (Coder's `GetAuditLogsOffsetParams`); nil matches everything.
/// `username` and `email` match the acting user case-insensitively, `resourceTarget` too (Coder
/// lowercases the whole query and then compares targets exactly, so a target with capitals is
/// never found there); `time` is at or after `from` and before `until`.
public struct AuditFilter: Sendable, Equatable {
    public var resourceType: AuditResourceType?
    public var resourceID: UUID?
    public var resourceTarget: String?
    public var action: AuditAction?
    public var userID: UUID?
    public var username: String?
    public var email: String?
    public var organizationID: UUID?
    public var requestID: UUID?
    public var from: Date?
    public var until: Date?

    public init(
        resourceType: AuditResourceType? = nil, resourceID: UUID? = nil, resourceTarget: String? = nil, action: AuditAction? = nil,
        userID: UUID? = nil, username: String? = nil, email: String? = nil, organizationID: UUID? = nil, requestID: UUID? = nil,
        from: Date? = nil, until: Date? = nil
    ) {
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.resourceTarget = resourceTarget
        self.action = action
        self.userID = userID
        self.username = username
        self.email = email
        self.organizationID = organizationID
        self.requestID = requestID
        self.from = from
        self.until = until
    }
}

/// The `audit_logs` table's statements.
enum AuditLogs {
    /// Writes `entry`. Run it on the transaction that makes the change it records
    /// (`try connection.execute(AuditLogs.insert(entry))`), so that both commit or neither does.
    /// Throws before any SQL runs when the diff or the additional fields cannot be JSON.
    static func insert(_ entry: AuditEntry) throws -> PostgresQuery<Void> {
        let diff = try PostgresJSONValue(entry.diff), additionalFields = try PostgresJSONValue(entry.additionalFields)
        return PostgresQuery(
            """
            INSERT INTO audit_logs (id, time, user_id, organization_id, ip, user_agent, resource_type, resource_id,
                resource_target, resource_icon, action, diff, status_code, additional_fields, request_id)
            VALUES (\(entry.id), \(entry.time), \(entry.userID), \(entry.organizationID), \(entry.ip)::inet, \(entry.userAgent),
                \(entry.resourceType), \(entry.resourceID), \(entry.resourceTarget), \(entry.resourceIcon), \(entry.action),
                \(diff)::jsonb, \(entry.statusCode), \(additionalFields)::jsonb, \(entry.requestID))
            """
        )
    }

    private static func entry(_ row: PostgresRow) throws -> AuditEntry {
        AuditEntry(
            id: try row.decode("id"),
            time: try row.decode("time"),
            userID: try row.decode("user_id"),
            organizationID: try row.decode("organization_id"),
            ip: try row.decode("ip"),
            userAgent: try row.decode("user_agent"),
            resourceType: try row.decode("resource_type"),
            resourceID: try row.decode("resource_id"),
            resourceTarget: try row.decode("resource_target"),
            resourceIcon: try row.decode("resource_icon"),
            action: try row.decode("action"),
            diff: try row.decodeJSON("diff"),
            statusCode: try row.decode("status_code"),
            additionalFields: try row.decodeJSON("additional_fields"),
            requestID: try row.decode("request_id")
        )
    }

    /// The filter of `list`. Users are matched through a subquery on their ids, so the `user_id`
    /// index serves it; `afterID` is the cursor (rows after that row in the reading order; an id
    /// of no row keeps none, as `Page` says). Each value is tested for NULL and then compared as
    /// one parameter (a `Bind`), so PostgreSQL infers its type once, from the cast.
    private static func matching(_ filter: AuditFilter, afterID: UUID?) -> SQL {
        let resourceType = SQL.Bind(filter.resourceType), resourceID = SQL.Bind(filter.resourceID)
        let resourceTarget = SQL.Bind(filter.resourceTarget), action = SQL.Bind(filter.action)
        let userID = SQL.Bind(filter.userID), username = SQL.Bind(filter.username), email = SQL.Bind(filter.email)
        let organizationID = SQL.Bind(filter.organizationID), requestID = SQL.Bind(filter.requestID)
        let from = SQL.Bind(filter.from), until = SQL.Bind(filter.until), afterID = SQL.Bind(afterID)
        return """
            WHERE (\(resourceType)::text IS NULL OR a.resource_type = \(resourceType))
              AND (\(resourceID)::uuid IS NULL OR a.resource_id = \(resourceID))
              AND (\(resourceTarget)::text IS NULL OR lower(a.resource_target) = lower(\(resourceTarget)))
              AND (\(action)::text IS NULL OR a.action = \(action))
              AND (\(userID)::uuid IS NULL OR a.user_id = \(userID))
              AND (\(username)::text IS NULL OR a.user_id IN (SELECT u.id FROM users u WHERE lower(u.username) = lower(\(username))))
              AND (\(email)::text IS NULL OR a.user_id IN (SELECT u.id FROM users u WHERE lower(u.email) = lower(\(email))))
              AND (\(organizationID)::uuid IS NULL OR a.organization_id = \(organizationID))
              AND (\(requestID)::uuid IS NULL OR a.request_id = \(requestID))
              AND (\(from)::timestamptz IS NULL OR a.time >= \(from))
              AND (\(until)::timestamptz IS NULL OR a.time < \(until))
              AND (\(afterID)::uuid IS NULL OR EXISTS (
                  SELECT 1 FROM audit_logs c WHERE c.id = \(afterID) AND (a.time < c.time OR (a.time = c.time AND a.id > c.id))))
            """
    }

    /// Newest first (ties by id), one page, and how many match before its limit and offset
    /// (Coder's `count`).
    static func list(_ filter: AuditFilter, page: Page) -> PagedQuery<AuditEntry> {
        PostgresQuery(
            """
            SELECT a.id, a.time, a.user_id, a.organization_id, host(a.ip) AS ip, a.user_agent, a.resource_type, a.resource_id,
                a.resource_target, a.resource_icon, a.action, a.diff, a.status_code, a.additional_fields, a.request_id
            FROM audit_logs a \(matching(filter, afterID: page.afterID))
            """,
            decode: entry
        ).paged(limit: page.limit, offset: page.offset, orderBy: "a.time DESC, a.id")
    }
}

import Foundation
import Postgres
import SCIMCore
import WireFormat

/// A group of the default organization as SCIM sees it (RFC 7643 §4.2): `displayName` is the
/// group's name; Everyone is never one (its members are implicit).
public struct SCIMGroup: Sendable, Equatable {
    public var group: Group
    public var externalID: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var version: Int64
    /// nil when the list was asked without members (`excludedAttributes=members`, as Entra asks).
    public var memberIDs: [UUID]?
}

/// What an IdP asks a group to be.
public struct SCIMGroupWrite: Sendable, Equatable {
    public var displayName: String
    public var externalID: String?
    public var memberIDs: [UUID]

    public init(displayName: String, externalID: String?, memberIDs: [UUID]) {
        self.displayName = displayName
        self.externalID = externalID
        self.memberIDs = memberIDs
    }
}

/// Members a group write names that are no users of the organization.
public struct SCIMUnknownMembers: Error, Sendable, Equatable {
    public var ids: [UUID]
}

/// The SCIM statements over `groups g`.
enum SCIMGroups {
    static let groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"

    static func columns(members: Bool) -> SQL {
        let memberList: SQL = members
            ? "ARRAY(SELECT gm.user_id::text FROM group_members gm WHERE gm.group_id = g.id ORDER BY gm.user_id)"
            : "NULL::text[]"
        return """
            g.id, g.name, g.display_name, g.organization_id, g.avatar_url, g.quota_allowance, g.source,
            g.scim_external_id, g.created_at, g.updated_at, (extract(epoch FROM g.updated_at) * 1000000)::bigint AS scim_version,
            \(memberList) AS scim_members
            """
    }

    static func scimGroup(_ row: PostgresRow) throws -> SCIMGroup {
        SCIMGroup(
            group: try Groups.group(row), externalID: try row.decode("scim_external_id"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"), version: try row.decode("scim_version"),
            memberIDs: try row.decode("scim_members", as: [UUID]?.self)
        )
    }

    /// The default organization's groups but Everyone.
    static func visible(_ organizationID: UUID) -> SQL {
        "g.organization_id = \(organizationID) AND g.id <> g.organization_id"
    }

    static let resource = SCIMResourceColumns(
        columns: [
            "id": SCIMColumn(expression: "g.id", kind: .uuid),
            "displayname": SCIMColumn(expression: "g.name", kind: .string(caseExact: false)),
            "externalid": SCIMColumn(expression: "g.scim_external_id", kind: .string(caseExact: true)),
            "meta.created": SCIMColumn(expression: "g.created_at", kind: .dateTime),
            "meta.lastmodified": SCIMColumn(expression: "g.updated_at", kind: .dateTime),
        ],
        elements: [
            "members": SCIMElements(
                from: "group_members e", correlation: "e.group_id = g.id",
                subAttributes: ["value": SCIMColumn(expression: "e.user_id::text", kind: .string(caseExact: false))]
            ),
        ],
        schemas: [groupSchema]
    )

    static func withID(_ id: UUID, organizationID: UUID, forUpdate: Bool = false) -> PostgresQuery<SCIMGroup> {
        PostgresQuery(
            "SELECT \(columns(members: true)) FROM groups g WHERE g.id = \(id) AND \(visible(organizationID))\(unescaped: forUpdate ? " FOR UPDATE OF g" : "")",
            decode: scimGroup
        )
    }

    static func list(_ request: SCIMListRequest, organizationID: UUID, members: Bool) throws(SCIMQueryError) -> (page: PostgresQuery<SCIMGroup>, total: PostgresQuery<Int>) {
        let builder = SCIMFilterSQL(resource: resource)
        let filter: SQL = try request.filter.map { filter throws(SCIMQueryError) in try builder.condition(filter) } ?? "true"
        let order: SQL = try request.sortBy.map { path throws(SCIMQueryError) in
            try SCIMFilterSQL.orderBy(path, descending: request.descending, in: resource, primary: [:]) + ", "
        } ?? ""
        let condition: SQL = "WHERE \(visible(organizationID)) AND \(filter)"
        // Ids first, then columns (members) for the page only, as for Users.
        let page = PostgresQuery(
            """
            SELECT \(columns(members: members)) FROM groups g WHERE g.id IN (
                SELECT g.id FROM groups g \(condition) ORDER BY \(order)g.created_at, g.id LIMIT \(max(0, request.count)) OFFSET \(request.offset)
            ) ORDER BY \(order)g.created_at, g.id
            """,
            decode: scimGroup
        )
        return (page, PostgresQuery<Int>("SELECT count(*) AS total FROM groups g \(condition)", column: "total"))
    }

    static func insert(id: UUID, _ write: SCIMGroupWrite, organizationID: UUID) -> PostgresQuery<Void> {
        PostgresQuery(
            "INSERT INTO groups (id, name, organization_id, scim_external_id) VALUES (\(id), \(write.displayName), \(organizationID), \(write.externalID))"
        )
    }

    static func update(id: UUID, _ write: SCIMGroupWrite) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            UPDATE groups SET name = \(write.displayName), scim_external_id = \(write.externalID),
                updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
            WHERE id = \(id)
            """
        )
    }

    /// The members become exactly `memberIDs`: two statements whatever the size of the change.
    static func removeMembers(groupID: UUID, keeping memberIDs: [UUID]) -> PostgresQuery<Void> {
        PostgresQuery("DELETE FROM group_members WHERE group_id = \(groupID) AND NOT (user_id = ANY(\(memberIDs)::uuid[]))")
    }

    static func addMembers(groupID: UUID, _ memberIDs: [UUID]) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO group_members (user_id, group_id) SELECT DISTINCT unnest(\(memberIDs)::uuid[]), \(groupID)::uuid ON CONFLICT DO NOTHING")
    }
}

import Foundation
import Postgres

public struct Template: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var organizationID: UUID
    public var name: String
    public var displayName: String
    public var description: String
    public var provisioner: String
    public var activeVersionID: UUID
    public var createdBy: UUID
    /// Who may use or administer the template, by user and by group (Everyone's id is the
    /// organization's).
    public var userACL: [UUID: TemplateRole]
    public var groupACL: [UUID: TemplateRole]
}

/// A template ACL entry's role, stored by name in `user_acl` and `group_acl`.
public enum TemplateRole: String, Sendable, Codable, CaseIterable {
    case admin
    case use
}

/// The `templates` table's statements.
enum Templates {
    static let constraintFields = ["templates_organization_id_name_key": "name"]

    private static let columns: SQL = "id, created_at, updated_at, organization_id, name, display_name, description, provisioner, active_version_id, created_by, user_acl, group_acl"

    /// An ACL column: ids to role names. An entry this version cannot read grants nothing.
    private static func acl(_ row: PostgresRow, _ name: String) throws -> [UUID: TemplateRole] {
        var acl: [UUID: TemplateRole] = [:]
        for (key, value) in try row.decodeJSON(name, as: [String: String].self) {
            if let id = UUID(uuidString: key), let role = TemplateRole(rawValue: value) { acl[id] = role }
        }
        return acl
    }

    static func aclJSON(_ acl: [UUID: TemplateRole]) throws -> PostgresJSONValue<[String: String]> {
        try PostgresJSONValue(Dictionary(uniqueKeysWithValues: acl.map { ($0.key.uuidString.lowercased(), $0.value.rawValue) }))
    }

    private static func template(_ row: PostgresRow) throws -> Template {
        Template(
            id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            organizationID: try row.decode("organization_id"), name: try row.decode("name"), displayName: try row.decode("display_name"),
            description: try row.decode("description"), provisioner: try row.decode("provisioner"),
            activeVersionID: try row.decode("active_version_id"), createdBy: try row.decode("created_by"),
            userACL: try acl(row, "user_acl"), groupACL: try acl(row, "group_acl")
        )
    }

    static func insert(id: UUID, organizationID: UUID, name: String, displayName: String, description: String, provisioner: String, activeVersionID: UUID, createdBy: UUID, groupACL: [UUID: TemplateRole]) throws -> PostgresQuery<Template> {
        let groups = try aclJSON(groupACL)
        return PostgresQuery(
            """
            INSERT INTO templates (id, organization_id, name, display_name, description, provisioner, active_version_id, created_by, group_acl)
            VALUES (\(id), \(organizationID), \(name), \(displayName), \(description), \(provisioner), \(activeVersionID), \(createdBy),
                \(groups)::jsonb)
            RETURNING \(columns)
            """,
            decode: template
        )
    }

    static func withID(_ id: UUID, forUpdate: Bool = false) -> PostgresQuery<Template> {
        let lock: SQL = forUpdate ? " FOR UPDATE" : ""
        return PostgresQuery("SELECT \(columns) FROM templates WHERE id = \(id)\(lock)", decode: template)
    }

    static func setACL(_ id: UUID, users: [UUID: TemplateRole], groups: [UUID: TemplateRole]) throws -> PostgresQuery<Void> {
        let userACL = try aclJSON(users), groupACL = try aclJSON(groups)
        return PostgresQuery("UPDATE templates SET user_acl = \(userACL)::jsonb, group_acl = \(groupACL)::jsonb, updated_at = now() WHERE id = \(id)")
    }

    /// Which of `userIDs` name users, and which of `groupIDs` name groups of the organization.
    static func existingUsers(_ userIDs: [UUID]) -> PostgresQuery<UUID> {
        PostgresQuery("SELECT id FROM users WHERE id = ANY(\(userIDs)::uuid[])", column: "id")
    }

    static func existingGroups(_ groupIDs: [UUID], organizationID: UUID) -> PostgresQuery<UUID> {
        PostgresQuery("SELECT id FROM groups WHERE id = ANY(\(groupIDs)::uuid[]) AND organization_id = \(organizationID)", column: "id")
    }

    /// By name.
    static func ofOrganization(_ organizationID: UUID) -> PostgresQuery<Template> {
        PostgresQuery("SELECT \(columns) FROM templates WHERE organization_id = \(organizationID) ORDER BY name", decode: template)
    }
}

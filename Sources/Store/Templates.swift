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
}

/// The `templates` table's statements.
enum Templates {
    static let constraintFields = ["templates_organization_id_name_key": "name"]

    private static let columns = "id, created_at, updated_at, organization_id, name, display_name, description, provisioner, active_version_id, created_by"

    private static func template(_ row: PostgresRow) throws -> Template {
        Template(
            id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            organizationID: try row.decode("organization_id"), name: try row.decode("name"), displayName: try row.decode("display_name"),
            description: try row.decode("description"), provisioner: try row.decode("provisioner"),
            activeVersionID: try row.decode("active_version_id"), createdBy: try row.decode("created_by")
        )
    }

    static func insert(id: UUID, organizationID: UUID, name: String, displayName: String, description: String, provisioner: String, activeVersionID: UUID, createdBy: UUID) -> PostgresQuery<Template> {
        PostgresQuery(
            """
            INSERT INTO templates (id, organization_id, name, display_name, description, provisioner, active_version_id, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING \(columns)
            """,
            [id, organizationID, name, displayName, description, provisioner, activeVersionID, createdBy],
            decode: template
        )
    }

    static func withID(_ id: UUID) -> PostgresQuery<Template> {
        PostgresQuery("SELECT \(columns) FROM templates WHERE id = $1", [id], decode: template)
    }

    /// By name.
    static func ofOrganization(_ organizationID: UUID) -> PostgresQuery<Template> {
        PostgresQuery("SELECT \(columns) FROM templates WHERE organization_id = $1 ORDER BY name", [organizationID], decode: template)
    }
}

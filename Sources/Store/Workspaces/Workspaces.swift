import Foundation
import Postgres

public struct Workspace: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var ownerID: UUID
    public var organizationID: UUID
    public var templateID: UUID
    public var name: String
}

/// The `workspaces` table's statements.
enum Workspaces {
    static let constraintFields = ["workspaces_owner_name": "name"]

    private static let columns: SQL = "id, created_at, updated_at, owner_id, organization_id, template_id, name"

    private static func workspace(_ row: PostgresRow) throws -> Workspace {
        Workspace(
            id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            ownerID: try row.decode("owner_id"), organizationID: try row.decode("organization_id"),
            templateID: try row.decode("template_id"), name: try row.decode("name")
        )
    }

    static func insert(id: UUID, ownerID: UUID, organizationID: UUID, templateID: UUID, name: String) -> PostgresQuery<Workspace> {
        PostgresQuery(
            """
            INSERT INTO workspaces (id, owner_id, organization_id, template_id, name)
            VALUES (\(id), \(ownerID), \(organizationID), \(templateID), \(name)) RETURNING \(columns)
            """,
            decode: workspace
        )
    }

    /// Deleted ones only when asked.
    static func withID(_ id: UUID, includingDeleted: Bool) -> PostgresQuery<Workspace> {
        PostgresQuery("SELECT \(columns) FROM workspaces WHERE id = \(id) AND (NOT deleted OR \(includingDeleted))", decode: workspace)
    }

    /// Takes the row lock that serializes a workspace's builds; no row if it is gone or deleted.
    static func lockForBuild(_ id: UUID) -> PostgresQuery<Void> {
        PostgresQuery("SELECT 1 FROM workspaces WHERE id = \(id) AND NOT deleted FOR UPDATE")
    }

    /// The workspace of the build run by `buildJobID` ends (a delete succeeded).
    static func markDeleted(buildJobID: UUID) -> PostgresQuery<Void> {
        PostgresQuery(
            "UPDATE workspaces SET deleted = true, updated_at = now() WHERE id = (SELECT workspace_id FROM workspace_builds WHERE job_id = \(buildJobID))"
        )
    }
}

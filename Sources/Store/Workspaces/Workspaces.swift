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

/// What a list of workspaces is narrowed to; nil (or no ids) is no narrowing. Deleted workspaces
/// are never listed.
public struct WorkspaceFilter: Sendable, Equatable {
    public var ownerID: UUID?
    /// The owner's username, compared case-insensitively.
    public var ownerUsername: String?
    /// The template's name, compared case-insensitively.
    public var templateName: String?
    /// Part of the workspace's name, case-insensitively.
    public var name: String?
    /// The status of the latest build, as the API shows it (`WorkspaceBuilds.computedStatus`).
    public var status: String?
    /// RBAC: only workspaces in these organizations.
    public var organizationIDs: [UUID]?
    /// RBAC: only this user's workspaces.
    public var visibleOwnerID: UUID?

    public init(
        ownerID: UUID? = nil, ownerUsername: String? = nil, templateName: String? = nil, name: String? = nil, status: String? = nil,
        organizationIDs: [UUID]? = nil, visibleOwnerID: UUID? = nil
    ) {
        self.ownerID = ownerID
        self.ownerUsername = ownerUsername
        self.templateName = templateName
        self.name = name
        self.status = status
        self.organizationIDs = organizationIDs
        self.visibleOwnerID = visibleOwnerID
    }
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

    /// The filter of `list`, over `w` (the workspace), `u` (its owner), `t` (its template) and
    /// `latest` (its latest build's status). A value tested for NULL and then compared is one
    /// parameter in both places (a `Bind`), so PostgreSQL infers its type once, from the cast.
    private static func matching(_ filter: WorkspaceFilter) -> SQL {
        let ownerID = SQL.Bind(filter.ownerID), ownerUsername = SQL.Bind(filter.ownerUsername)
        let templateName = SQL.Bind(filter.templateName), name = SQL.Bind(filter.name), status = SQL.Bind(filter.status)
        let organizationIDs = SQL.Bind(filter.organizationIDs), visibleOwnerID = SQL.Bind(filter.visibleOwnerID)
        return """
            WHERE NOT w.deleted
              AND (\(ownerID)::uuid IS NULL OR w.owner_id = \(ownerID))
              AND (\(ownerUsername)::text IS NULL OR lower(u.username) = lower(\(ownerUsername)))
              AND (\(templateName)::text IS NULL OR lower(t.name) = lower(\(templateName)))
              AND (\(name)::text IS NULL OR w.name ILIKE '%' || \(name) || '%')
              AND (\(status)::text IS NULL OR latest.status = \(status))
              AND (\(organizationIDs)::uuid[] IS NULL OR w.organization_id = ANY(\(organizationIDs)))
              AND (\(visibleOwnerID)::uuid IS NULL OR w.owner_id = \(visibleOwnerID))
            """
    }

    /// The workspaces `filter` keeps, one page, and how many it keeps before the page's limit and
    /// offset. Running ones first (their latest build's status), then by owner and name,
    /// case-insensitively (Coder's order since 0.24). `page.afterID` is not used, as in Coder.
    static func list(_ filter: WorkspaceFilter, page: Page) -> PagedQuery<Workspace> {
        PostgresQuery(
            """
            SELECT w.id, w.created_at, w.updated_at, w.owner_id, w.organization_id, w.template_id, w.name
            FROM workspaces w
            JOIN users u ON u.id = w.owner_id
            JOIN templates t ON t.id = w.template_id
            JOIN LATERAL (
                SELECT \(WorkspaceBuilds.computedStatus) AS status
                FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id
                WHERE b.workspace_id = w.id ORDER BY b.build_number DESC LIMIT 1
            ) latest ON true
            \(matching(filter))
            """,
            decode: workspace
        ).paged(limit: page.limit, offset: page.offset, orderBy: "(latest.status = 'running') DESC, lower(u.username), lower(w.name), w.id")
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

import Foundation
import Postgres

public struct TemplateVersion: Sendable, Equatable {
    public var id: UUID
    public var templateID: UUID?
    public var organizationID: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var name: String
    public var jobID: UUID
    public var createdBy: UUID
}

/// The `template_versions` table's statements.
enum TemplateVersions {
    private static let columns: SQL = "id, template_id, organization_id, created_at, updated_at, name, job_id, created_by"

    private static func version(_ row: PostgresRow) throws -> TemplateVersion {
        TemplateVersion(
            id: try row.decode("id"), templateID: try row.decode("template_id", as: UUID?.self), organizationID: try row.decode("organization_id"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"), name: try row.decode("name"),
            jobID: try row.decode("job_id"), createdBy: try row.decode("created_by")
        )
    }

    /// A version of the import job `job`, in its organization, by its initiator.
    static func insert(id: UUID, name: String, templateID: UUID?, job: NewProvisionerJob) -> PostgresQuery<TemplateVersion> {
        PostgresQuery(
            """
            INSERT INTO template_versions (id, template_id, organization_id, name, job_id, created_by)
            VALUES (\(id), \(templateID), \(job.organizationID), \(name), \(job.id), \(job.initiatorID)) RETURNING \(columns)
            """,
            decode: version
        )
    }

    static func withID(_ id: UUID) -> PostgresQuery<TemplateVersion> {
        PostgresQuery("SELECT \(columns) FROM template_versions WHERE id = \(id)", decode: version)
    }

    /// A version made before its template belongs to it once the template exists.
    static func adopt(versionID: UUID, templateID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE template_versions SET template_id = \(templateID) WHERE id = \(versionID) AND template_id IS NULL")
    }
}

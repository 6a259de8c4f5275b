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

public struct Workspace: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var ownerID: UUID
    public var organizationID: UUID
    public var templateID: UUID
    public var name: String
}

public struct WorkspaceBuild: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var workspaceID: UUID
    public var templateVersionID: UUID
    public var buildNumber: Int32
    public var transition: String
    public var initiatorID: UUID
    public var jobID: UUID
    /// The sum of the build's resources' costs, per day.
    public var dailyCost: Int64
}

extension Store {
    static let versionColumns = "id, template_id, organization_id, created_at, updated_at, name, job_id, created_by"

    static func version(from row: PostgresRow) throws -> TemplateVersion {
        TemplateVersion(id: try row.decode("id"), templateID: try row.decode("template_id", as: UUID?.self), organizationID: try row.decode("organization_id"),
                        createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"), name: try row.decode("name"),
                        jobID: try row.decode("job_id"), createdBy: try row.decode("created_by"))
    }

    /// A template version and its import job, announced to the daemons.
    public func createTemplateVersion(id: UUID = UUID(), name: String, templateID: UUID?, job: NewProvisionerJob) async throws -> TemplateVersion {
        try await pool.withTransaction { connection in
            try Self.insertJob(job, on: connection)
            let row = try connection.query(
                """
                INSERT INTO template_versions (id, template_id, organization_id, name, job_id, created_by)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING \(Self.versionColumns)
                """,
                [id, templateID, job.organizationID, name, job.id, job.initiatorID]
            ).first
            guard let row else { throw StoreError.notFound }
            return try Self.version(from: row)
        }
    }

    public func templateVersion(id: UUID) async throws -> TemplateVersion? {
        try await pool.query("SELECT \(Self.versionColumns) FROM template_versions WHERE id = $1", [id]).first.map(Self.version(from:))
    }

    static let templateColumns = "id, created_at, updated_at, organization_id, name, display_name, description, provisioner, active_version_id, created_by"

    static func template(from row: PostgresRow) throws -> Template {
        Template(id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
                 organizationID: try row.decode("organization_id"), name: try row.decode("name"), displayName: try row.decode("display_name"),
                 description: try row.decode("description"), provisioner: try row.decode("provisioner"),
                 activeVersionID: try row.decode("active_version_id"), createdBy: try row.decode("created_by"))
    }

    public func createTemplate(organizationID: UUID, name: String, displayName: String, description: String, versionID: UUID, provisioner: String, createdBy: UUID) async throws -> Template {
        do {
            return try await pool.withTransaction { connection in
                let id = UUID()
                let row = try connection.query(
                    """
                    INSERT INTO templates (id, organization_id, name, display_name, description, provisioner, active_version_id, created_by)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING \(Self.templateColumns)
                    """,
                    [id, organizationID, name, displayName, description, provisioner, versionID, createdBy]
                ).first
                guard let row else { throw StoreError.notFound }
                try connection.query("UPDATE template_versions SET template_id = $1 WHERE id = $2 AND template_id IS NULL", [id, versionID])
                return try Self.template(from: row)
            }
        } catch let error as PostgresError where error.isUniqueViolation {
            throw StoreError.conflict(field: "name")
        }
    }

    public func template(id: UUID) async throws -> Template? {
        try await pool.query("SELECT \(Self.templateColumns) FROM templates WHERE id = $1", [id]).first.map(Self.template(from:))
    }

    public func templates(organizationID: UUID) async throws -> [Template] {
        try await pool.query("SELECT \(Self.templateColumns) FROM templates WHERE organization_id = $1 ORDER BY name", [organizationID])
            .rows.map(Self.template(from:))
    }

    static let workspaceColumns = "id, created_at, updated_at, owner_id, organization_id, template_id, name"
    static let buildColumns = "id, created_at, updated_at, workspace_id, template_version_id, build_number, transition, initiator_id, job_id, daily_cost"

    static func workspace(from row: PostgresRow) throws -> Workspace {
        Workspace(id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
                  ownerID: try row.decode("owner_id"), organizationID: try row.decode("organization_id"),
                  templateID: try row.decode("template_id"), name: try row.decode("name"))
    }

    static func build(from row: PostgresRow) throws -> WorkspaceBuild {
        WorkspaceBuild(id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
                       workspaceID: try row.decode("workspace_id"), templateVersionID: try row.decode("template_version_id"),
                       buildNumber: try row.decode("build_number"), transition: try row.decode("transition"),
                       initiatorID: try row.decode("initiator_id"), jobID: try row.decode("job_id"), dailyCost: try row.decode("daily_cost"))
    }

    /// Creates a workspace with its first build (transition start) and the build's job.
    public func createWorkspace(ownerID: UUID, organizationID: UUID, templateID: UUID, versionID: UUID, name: String, job: NewProvisionerJob) async throws -> (Workspace, WorkspaceBuild) {
        do {
            return try await pool.withTransaction { connection in
                let workspaceID = UUID()
                guard let inserted = try connection.query(
                    "INSERT INTO workspaces (id, owner_id, organization_id, template_id, name) VALUES ($1, $2, $3, $4, $5) RETURNING \(Self.workspaceColumns)",
                    [workspaceID, ownerID, organizationID, templateID, name]
                ).first else { throw StoreError.notFound }
                let workspace = try Self.workspace(from: inserted)
                let build = try Self.insertBuild(workspaceID: workspaceID, versionID: versionID, transition: "start", job: job, on: connection)
                return (workspace, build)
            }
        } catch let error as PostgresError where error.isUniqueViolation {
            throw StoreError.conflict(field: "name")
        }
    }

    /// Adds the next build of a workspace and its job. One build at a time: decided under the
    /// workspace's row lock, so of concurrent requests exactly one succeeds and the others get
    /// `StoreError.buildActive`.
    public func createBuild(workspaceID: UUID, versionID: UUID, transition: String, job: NewProvisionerJob) async throws -> WorkspaceBuild {
        try await pool.withTransaction { connection in
            guard try connection.query("SELECT 1 FROM workspaces WHERE id = $1 AND NOT deleted FOR UPDATE", [workspaceID]).first != nil else {
                throw StoreError.notFound
            }
            let active = try connection.query(
                """
                SELECT 1 FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id
                WHERE b.workspace_id = $1 AND j.completed_at IS NULL LIMIT 1
                """,
                [workspaceID]
            ).first
            guard active == nil else { throw StoreError.buildActive }
            return try Self.insertBuild(workspaceID: workspaceID, versionID: versionID, transition: transition, job: job, on: connection)
        }
    }

    private static func insertBuild(workspaceID: UUID, versionID: UUID, transition: String, job: NewProvisionerJob, on connection: isolated DatabaseConnection) throws -> WorkspaceBuild {
        try insertJob(job, on: connection)
        let row = try connection.query(
            """
            INSERT INTO workspace_builds (id, workspace_id, template_version_id, build_number, transition, initiator_id, job_id)
            VALUES ($1, $2, $3, COALESCE((SELECT max(build_number) FROM workspace_builds WHERE workspace_id = $2), 0) + 1, $4, $5, $6)
            RETURNING \(buildColumns)
            """,
            [UUID(), workspaceID, versionID, transition, job.initiatorID, job.id]
        ).first
        guard let row else { throw StoreError.notFound }
        return try build(from: row)
    }

    /// A workspace; deleted ones only when asked (their builds stay readable).
    public func workspace(id: UUID, includingDeleted: Bool = false) async throws -> Workspace? {
        try await pool.query(
            "SELECT \(Self.workspaceColumns) FROM workspaces WHERE id = $1 AND (NOT deleted OR $2)", [id, includingDeleted]
        ).first.map(Self.workspace(from:))
    }

    public func build(id: UUID) async throws -> WorkspaceBuild? {
        try await pool.query("SELECT \(Self.buildColumns) FROM workspace_builds WHERE id = $1", [id]).first.map(Self.build(from:))
    }

    public func latestBuild(workspaceID: UUID) async throws -> WorkspaceBuild? {
        try await pool.query("SELECT \(Self.buildColumns) FROM workspace_builds WHERE workspace_id = $1 ORDER BY build_number DESC LIMIT 1", [workspaceID])
            .first.map(Self.build(from:))
    }

    /// What a daemon needs to run a job: the archive, and for builds the transition and prior state.
    public func jobPayload(_ job: ProvisionerJob) async throws -> (archive: [UInt8], transition: String?, state: [UInt8]?) {
        let archive = try await fileData(id: job.fileID)?.data ?? []
        guard job.type == .workspaceBuild else { return (archive, nil, nil) }
        let row = try await pool.query(
            """
            SELECT b.transition,
                   (SELECT p.state FROM workspace_builds p WHERE p.workspace_id = b.workspace_id AND p.build_number < b.build_number
                      AND p.state IS NOT NULL
                    ORDER BY p.build_number DESC LIMIT 1)
            FROM workspace_builds b WHERE b.job_id = $1
            """,
            [job.id]
        ).first
        // The state of the last build that has one: a failed or canceled build in between must
        // not make the next one start from nothing (and duplicate or orphan resources).
        return (archive, try row?.decode(0, as: String?.self), try row?.decode(1, as: PostgresBytes?.self)?.bytes)
    }

    public func resources(jobID: UUID) async throws -> [JobResource] {
        try await pool.query("SELECT name, type, daily_cost FROM workspace_resources WHERE job_id = $1 ORDER BY name", [jobID])
            .rows.map { JobResource(name: try $0.decode(0), type: try $0.decode(1), dailyCost: try $0.decode(2)) }
    }
}

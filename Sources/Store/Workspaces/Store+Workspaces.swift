import Foundation
import Postgres
import ProvisionerProtocol

extension Store {
    /// Creates a workspace with its first build (transition start) and the build's job. `audit`
    /// sees both and answers their rows (the workspace's and the build's), which commit with
    /// them; a taken name is `.conflict` and leaves none.
    public func createWorkspace(
        ownerID: UUID, organizationID: UUID, templateID: UUID, versionID: UUID, name: String, job: NewProvisionerJob,
        audit: (@Sendable (Workspace, WorkspaceBuild) throws -> [AuditEntry])? = nil
    ) async throws -> (Workspace, WorkspaceBuild) {
        try await mappingConflicts(Workspaces.constraintFields) {
            try await pool.withTransaction { connection in
                guard let workspace = try connection.one(Workspaces.insert(
                    id: UUID(), ownerID: ownerID, organizationID: organizationID, templateID: templateID, name: name
                )) else { throw StoreError.notFound }
                let build = try Self.insertBuild(workspaceID: workspace.id, versionID: versionID, transition: "start", job: job, on: connection)
                for entry in try audit?(workspace, build) ?? [] {
                    try Self.recordAudit(entry, on: connection)
                }
                return (workspace, build)
            }
        }
    }

    /// Adds the next build of a workspace and its job. One build at a time: decided under the
    /// workspace's row lock, so of concurrent requests exactly one succeeds and the others get
    /// `StoreError.buildActive` (and leave no audit row). `audit` sees the new build and its row
    /// commits with it.
    public func createBuild(
        workspaceID: UUID, versionID: UUID, transition: String, job: NewProvisionerJob,
        audit: (@Sendable (WorkspaceBuild) throws -> AuditEntry?)? = nil
    ) async throws -> WorkspaceBuild {
        try await pool.withTransaction { connection in
            guard try connection.one(Workspaces.lockForBuild(workspaceID)) != nil else { throw StoreError.notFound }
            guard try connection.one(WorkspaceBuilds.active(workspaceID: workspaceID)) == nil else { throw StoreError.buildActive }
            let build = try Self.insertBuild(workspaceID: workspaceID, versionID: versionID, transition: transition, job: job, on: connection)
            try Self.recordAudit(try audit?(build), on: connection)
            return build
        }
    }

    private static func insertBuild(workspaceID: UUID, versionID: UUID, transition: String, job: NewProvisionerJob, on connection: isolated DatabaseConnection) throws -> WorkspaceBuild {
        try insertJob(job, on: connection)
        guard let build = try connection.one(WorkspaceBuilds.insert(workspaceID: workspaceID, versionID: versionID, transition: transition, job: job)) else {
            throw StoreError.notFound
        }
        return build
    }

    /// A workspace; deleted ones only when asked (their builds stay readable).
    public func workspace(id: UUID, includingDeleted: Bool = false) async throws -> Workspace? {
        try await pool.one(Workspaces.withID(id, includingDeleted: includingDeleted))
    }

    public func build(id: UUID) async throws -> WorkspaceBuild? {
        try await pool.one(WorkspaceBuilds.withID(id))
    }

    public func latestBuild(workspaceID: UUID) async throws -> WorkspaceBuild? {
        try await pool.one(WorkspaceBuilds.latest(workspaceID: workspaceID))
    }

    /// A page of the workspaces `filter` keeps (never deleted ones; see `Workspaces.list` for the
    /// order), and how many it keeps in all (before the page's limit and offset), both from one
    /// snapshot.
    public func workspaces(filter: WorkspaceFilter, page: Page) async throws -> (workspaces: [Workspace], count: Int) {
        let found = try await pool.page(Workspaces.list(filter, page: page))
        return (found.rows, found.total)
    }

    /// A workspace's builds, newest first: those numbered above `afterBuildNumber` and created
    /// after `since` (each nil: any), `page.limit` of them after skipping `page.offset`.
    public func builds(workspaceID: UUID, afterBuildNumber: Int32?, since: Date?, page: Page) async throws -> [WorkspaceBuild] {
        try await pool.all(WorkspaceBuilds.list(workspaceID: workspaceID, afterNumber: afterBuildNumber, since: since, page: page))
    }

    /// The provisioner state stored on a build, as the daemon sent it (or carried forward from an
    /// earlier build); nil when it has none or there is no such build.
    public func buildState(id: UUID) async throws -> [UInt8]? {
        guard let state = try await pool.one(WorkspaceBuilds.state(id: id)) else { return nil }
        return state
    }

    /// What a daemon needs to run a job: the archive, the template variables' values, and for
    /// builds the transition, the prior state and the workspace.
    public func jobPayload(_ job: ProvisionerJob) async throws -> (archive: [UInt8], build: BuildPayload?, variables: [VariableValue]) {
        let archive = try await fileData(id: job.fileID)?.data ?? []
        let variables = try await pool.all(TemplateVersionVariables.values(jobID: job.id))
        guard job.type == .workspaceBuild else { return (archive, nil, variables) }
        return (archive, try await pool.one(WorkspaceBuilds.payload(jobID: job.id)), variables)
    }

    public func resources(jobID: UUID) async throws -> [JobResource] {
        try await pool.all(WorkspaceResources.ofJob(jobID))
    }

    /// Every resource row of a job, by name: what an import found, or what a build made.
    public func workspaceResources(jobID: UUID) async throws -> [WorkspaceResource] {
        try await pool.all(WorkspaceResources.rowsOfJob(jobID))
    }
}

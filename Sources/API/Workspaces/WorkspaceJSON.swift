import Foundation
import Hummingbird
import Store

/// The JSON of a workspace and of its builds, as Coder's `codersdk` shapes them.
struct ResourceJSON: Encodable {
    let name: String
    let type: String
    let daily_cost: Int64
}

struct BuildJSON: ResponseEncodable {
    let id: UUID
    let created_at: Date
    let updated_at: Date
    let workspace_id: UUID
    let template_version_id: UUID
    let build_number: Int32
    let transition: String
    let initiator_id: UUID
    let status: String
    let daily_cost: Int64
    let job: ProvisionerJobJSON
    let resources: [ResourceJSON]

    static func make(_ build: WorkspaceBuild, store: Store) async throws -> BuildJSON {
        guard let job = try await store.job(id: build.jobID) else { throw APIError.internalError("build without its job") }
        let resources = try await store.resources(jobID: job.id).map { ResourceJSON(name: $0.name, type: $0.type, daily_cost: $0.dailyCost) }
        return BuildJSON(
            id: build.id, created_at: build.createdAt, updated_at: build.updatedAt, workspace_id: build.workspaceID,
            template_version_id: build.templateVersionID, build_number: build.buildNumber, transition: build.transition,
            initiator_id: build.initiatorID, status: Self.status(job.status, transition: build.transition),
            daily_cost: build.dailyCost, job: try await ProvisionerJobJSON.make(job, store: store), resources: resources
        )
    }

    /// Coder's workspace status from the job's status and the transition.
    static func status(_ job: String, transition: String) -> String {
        switch (job, transition) {
        case ("pending", _): "pending"
        case ("running", "start"): "starting"
        case ("running", "stop"): "stopping"
        case ("running", "delete"): "deleting"
        case ("succeeded", "start"): "running"
        case ("succeeded", "stop"): "stopped"
        case ("succeeded", "delete"): "deleted"
        case ("canceling", _): "canceling"
        case ("canceled", _): "canceled"
        default: "failed"
        }
    }
}

struct WorkspaceJSON: ResponseEncodable {
    let id: UUID
    let created_at: Date
    let updated_at: Date
    let owner_id: UUID
    let organization_id: UUID
    let template_id: UUID
    let name: String
    let latest_build: BuildJSON

    static func make(_ workspace: Workspace, store: Store) async throws -> WorkspaceJSON {
        guard let latest = try await store.latestBuild(workspaceID: workspace.id) else { throw APIError.internalError("workspace without a build") }
        return WorkspaceJSON(
            id: workspace.id, created_at: workspace.createdAt, updated_at: workspace.updatedAt, owner_id: workspace.ownerID,
            organization_id: workspace.organizationID, template_id: workspace.templateID, name: workspace.name,
            latest_build: try await BuildJSON.make(latest, store: store)
        )
    }
}

/// `GET /workspaces` (Coder's `codersdk.WorkspacesResponse`).
struct WorkspacesResponse: ResponseEncodable {
    let workspaces: [WorkspaceJSON]
    let count: Int
}

struct LogJSON: ResponseEncodable {
    let id: Int64
    let created_at: Date
    let log_source: String
    let log_level: String
    let stage: String
    let output: String

    init(_ line: JobLogLine) {
        id = line.id
        created_at = line.createdAt
        log_source = line.source
        log_level = line.level
        stage = line.stage
        output = line.output
    }
}

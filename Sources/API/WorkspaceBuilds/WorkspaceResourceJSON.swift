import Foundation
import Store

/// A resource as Coder's `codersdk.WorkspaceResource` shapes it. Coder leaves `agents` and
/// `metadata` out when they are empty (`omitempty`), and nothing here has either, so neither key
/// is written; `hide` is false and `icon` empty, as Coder answers for a resource no
/// `coder_metadata` describes.
struct WorkspaceResourceJSON: Encodable {
    let id: UUID
    let created_at: Date
    let job_id: UUID
    let workspace_transition: String
    let type: String
    let name: String
    let hide: Bool
    let icon: String
    let daily_cost: Int64

    init(_ resource: WorkspaceResource) {
        id = resource.id
        created_at = resource.createdAt
        job_id = resource.jobID
        workspace_transition = resource.transition
        type = resource.type
        name = resource.name
        hide = false
        icon = ""
        daily_cost = resource.dailyCost
    }
}

/// The resources of the job behind a template version (what its import found) or a workspace
/// build (what it made): Coder's `provisionerJobResources`.
enum JobResources {
    /// Every resource of the job, by name; 400 `Job hasn't completed!` while it runs or waits (a
    /// failed or canceled job has completed, and answers what it left).
    static func of(jobID: UUID, in store: Store) async throws -> [WorkspaceResourceJSON] {
        guard let job = try await store.job(id: jobID) else { throw APIError.internalError("a job is missing") }
        guard job.completedAt != nil else { throw APIError(.badRequest, "Job hasn't completed!") }
        return try await store.workspaceResources(jobID: job.id).map(WorkspaceResourceJSON.init)
    }
}

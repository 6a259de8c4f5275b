import Foundation
import Store

/// Coder's `ProvisionerJob` JSON, with `matched_provisioners` so that a job nobody can take says
/// so from the moment it exists (coder/coder#15428).
struct ProvisionerJobJSON: Encodable {
    struct Matched: Encodable {
        let count: Int
        let available: Int
        let most_recently_seen: Date?
    }

    let id: UUID
    let created_at: Date
    let started_at: Date?
    let completed_at: Date?
    let canceled_at: Date?
    let error: String?
    let error_code: String?
    let status: String
    let worker_id: UUID?
    let file_id: UUID
    let tags: [String: String]
    let organization_id: UUID
    let type: String
    let matched_provisioners: Matched?

    init(_ job: ProvisionerJob, matched: (count: Int, available: Int, mostRecentlySeen: Date?)?) {
        id = job.id
        created_at = job.createdAt
        started_at = job.startedAt
        completed_at = job.completedAt
        canceled_at = job.canceledAt
        error = job.error
        error_code = job.errorCode
        status = job.status
        worker_id = job.workerID
        file_id = job.fileID
        tags = job.tags
        organization_id = job.organizationID
        type = job.type.rawValue
        matched_provisioners = matched.map { Matched(count: $0.count, available: $0.available, most_recently_seen: $0.mostRecentlySeen) }
    }

    static func make(_ job: ProvisionerJob, store: Store) async throws -> ProvisionerJobJSON {
        // Only a job that still waits for a daemon needs to say who could take it.
        let matched = job.startedAt == nil && job.completedAt == nil
            ? try await store.matchedDaemons(organizationID: job.organizationID, provisioner: job.provisioner, tags: job.tags)
            : nil
        return ProvisionerJobJSON(job, matched: matched)
    }
}

import Foundation
import Store

/// Canceling the job behind a template version or a workspace build: Coder's answers.
enum JobCancellation {
    static func cancel(jobID: UUID, in store: Store) async throws -> MessageJSON {
        guard let job = try await store.job(id: jobID), job.completedAt == nil, job.canceledAt == nil else {
            throw APIError(.badRequest, "Job has already completed or been canceled.")
        }
        _ = try await store.cancelJob(id: job.id)
        return MessageJSON(message: "Job has been marked as canceled...")
    }
}

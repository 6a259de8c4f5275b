import Foundation
import Postgres
import ProvisionerProtocol

extension Store {
    /// Channel on which every posted job is announced (payload: the job's organization, provisioner and tags).
    public static let jobPostedChannel = "provisioner_job_posted"
    /// Channel on which cancellations are announced (payload: the job id).
    public static let jobCanceledChannel = "provisioner_job_canceled"
    /// Channel on which new log lines of a job are announced (payload: the job id).
    public static let jobLogsChannel = "provisioner_job_logs"

    /// Inserts a job and announces it; the NOTIFY is delivered when the transaction commits.
    static func insertJob(_ job: NewProvisionerJob, on connection: isolated DatabaseConnection) throws {
        try connection.execute(ProvisionerJobs.insert(job))
        try connection.execute(ProvisionerJobs.announcePosted(ProvisionerJobs.Posted(job)))
    }

    /// Unfinished jobs by type and status (pending, running), for the deployment's metrics.
    public func jobCounts() async throws -> [JobCount] {
        try await pool.all(ProvisionerJobs.countsByTypeAndStatus)
    }

    public func job(id: UUID) async throws -> ProvisionerJob? {
        try await pool.one(ProvisionerJobs.withID(id))
    }

    /// Takes the oldest pending job this daemon can run, in one statement; `SKIP LOCKED` lets any
    /// number of daemons on any number of replicas acquire at once without waiting on each other.
    /// The lease names `connectionID` too, and the hand-over is counted (see `reclaimJobs`).
    /// Only the daemon's current connection acquires: one that a reconnect has replaced (and that
    /// has not heard yet) takes nothing.
    public func acquireJob(daemonID: UUID, connectionID: UUID, instanceID: String, organizationID: UUID, provisioners: [String], tags: [String: String]) async throws -> ProvisionerJob? {
        try await pool.withTransaction { connection in
            guard let job = try connection.one(ProvisionerJobs.acquire(
                daemonID: daemonID, connectionID: connectionID, instanceID: instanceID,
                organizationID: organizationID, provisioners: provisioners, tags: tags
            )) else { return nil }
            try connection.execute(ProvisionerDaemons.assign(jobID: job.id, to: daemonID))
            return job
        }
    }

    /// Re-attaches a daemon to a job it holds after a reconnect, moving the lease to the new
    /// connection (so the old one ending later does not start the grace period). Nil if the lease
    /// is stale or the job ended.
    public func resumeJob(_ lease: JobLease, connectionID: UUID, instanceID: String) async throws -> ProvisionerJob? {
        try await pool.one(ProvisionerJobs.resume(lease, connectionID: connectionID, instanceID: instanceID))
    }

    /// Records progress under `lease`, held by `connectionID`: log lines (announced on the logs
    /// channel) and a heartbeat of the job and of its daemon. Lines past the job's cap are dropped,
    /// with one notice line the first time. Returns whether the job has been canceled, so the
    /// daemon can stop.
    public func updateJob(_ lease: JobLease, connectionID: UUID, logs: [JobLogLine], limits: JobLogLimits = JobLogLimits()) async throws -> (canceled: Bool, logIDs: [Int64]) {
        try await pool.withTransaction { connection in
            guard let progress = try connection.one(ProvisionerJobs.heartbeat(lease, connectionID: connectionID)) else { throw LeaseError.stale }
            var budget = JobLogBudget(limits: limits, lines: progress.logLines, bytes: progress.logBytes, truncated: progress.logsTruncated)
            let (kept, notice) = budget.admit(logs)
            let lines = kept + (notice.map { [$0] } ?? [])
            let ids = lines.isEmpty ? [] : try connection.all(ProvisionerJobLogs.append(jobID: lease.jobID, lines, budget: budget)).sorted()
            if !ids.isEmpty {
                try connection.notify(Self.jobLogsChannel, lease.jobID.uuidString.lowercased())
            }
            return (progress.canceled, ids)
        }
    }

    /// Ends a job under `lease`, held by `connectionID`, with what it produced (resources, and
    /// for a build its new state), in one transaction. Refused (`LeaseError.stale`) for a stale
    /// lease or an ended job, so that a job is never completed twice. Without a new state a build
    /// keeps the last good one (a failed or canceled build must not lose track of resources).
    public func finishJob(_ lease: JobLease, connectionID: UUID?, _ outcome: JobOutcome, resources: [JobResource] = [], state: [UInt8]? = nil, variables: [TemplateVariable] = []) async throws {
        try await pool.withTransaction { connection in
            guard try connection.execute(ProvisionerJobs.complete(lease, connectionID: connectionID, outcome)) == 1 else { throw LeaseError.stale }
            let succeeded = if case .completed = outcome { true } else { false }
            try Self.recordBuildOutcome(jobID: lease.jobID, succeeded: succeeded, resources: resources, state: state, on: connection)
            if succeeded {
                // An import's declarations (a build reports none).
                for (position, variable) in variables.enumerated() {
                    try connection.execute(TemplateVersionVariables.insert(variable, position: position, importJobID: lease.jobID))
                }
            }
            try connection.execute(ProvisionerDaemons.release(jobID: lease.jobID, from: lease.daemonID))
            try connection.notify(Self.jobLogsChannel, lease.jobID.uuidString.lowercased())
        }
    }

    /// What a finished job leaves on its workspace build, if it is one: resources, their total
    /// cost (summed in 64 bits by the database, never by us), the state, and for a successful
    /// delete the workspace's end.
    static func recordBuildOutcome(jobID: UUID, succeeded: Bool, resources: [JobResource], state: [UInt8]?, on connection: isolated DatabaseConnection) throws {
        guard let transition = try connection.one(WorkspaceBuilds.transition(jobID: jobID)) else {
            // A template import: its resources are what a start would create.
            for resource in resources {
                try connection.execute(WorkspaceResources.insert(resource, jobID: jobID, transition: "start"))
            }
            return
        }
        for resource in resources {
            try connection.execute(WorkspaceResources.insert(resource, jobID: jobID, transition: transition))
        }
        try connection.execute(WorkspaceBuilds.recordOutcome(jobID: jobID, state: state))
        if transition == "delete", succeeded {
            try connection.execute(Workspaces.markDeleted(buildJobID: jobID))
        }
    }

    /// Cancels a job: a pending one ends at once; a running one is told at its next update (and
    /// the cancellation is announced so its daemon's replica tells it now).
    public func cancelJob(id: UUID) async throws -> ProvisionerJob {
        try await pool.withTransaction { connection in
            guard let job = try connection.one(ProvisionerJobs.cancel(id: id)) else { throw StoreError.notFound }
            try connection.notify(Self.jobCanceledChannel, id.uuidString.lowercased())
            try connection.notify(Self.jobLogsChannel, id.uuidString.lowercased())
            return job
        }
    }

    /// One page of a job's logs: up to `limit` lines after the line `after`.
    public func jobLogs(jobID: UUID, after: Int64 = 0, limit: Int = 1000) async throws -> [JobLogLine] {
        try await pool.all(ProvisionerJobLogs.page(jobID: jobID, after: after, limit: max(1, limit)))
    }
}

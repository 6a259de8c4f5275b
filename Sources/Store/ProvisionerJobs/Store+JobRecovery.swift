import Foundation
import Postgres

/// Jobs whose daemon went away, or never got them: back to the queue, or failed with a reason.
extension Store {
    /// A daemon asked for work on `connectionID` while jobs are still leased to it that it did not
    /// resume there (`held`): it never got them (its replica died between acquisition and
    /// delivery, or it could not receive them) or it restarted. A job it never reported on goes
    /// back to the queue, unless it was handed over too often already; one it had started fails
    /// at once.
    ///
    /// Only the jobs of this daemon process (`instanceID`) are reclaimed: a job of another process
    /// under the same name is left to the reaper's grace period, so that a second process that
    /// slips in while the first reconnects can never end the first one's job.
    public func reclaimJobs(daemonID: UUID, instanceID: String, connectionID: UUID, except held: [UUID]) async throws {
        try await pool.withTransaction { connection in
            for job in try connection.all(ProvisionerJobs.requeueUnheld(daemonID: daemonID, instanceID: instanceID, except: held)) {
                try connection.execute(ProvisionerJobs.announcePosted(job))
            }
            let failed = try connection.all(ProvisionerJobs.failUnheld(daemonID: daemonID, instanceID: instanceID, except: held))
            try Self.logFailures(failed, on: connection)
        }
    }

    /// Puts back a job that was taken but never reached its daemon (the connection dropped in
    /// between, or its payload could not be read), or fails it if that happened too often. A job
    /// canceled meanwhile ends as canceled: back in the queue it would be taken by nobody, and
    /// its workspace would wait for it forever.
    public func releaseUndeliveredJob(_ lease: JobLease) async throws {
        try await pool.withTransaction { connection in
            if let job = try connection.one(ProvisionerJobs.requeueUndelivered(lease)) {
                try connection.execute(ProvisionerJobs.announcePosted(job))
                return
            }
            try Self.logFailures(try connection.all(ProvisionerJobs.failUndelivered(lease)), on: connection)
        }
    }

    /// Fails the jobs a connection holds, for a reason of the connection's (it sent a message
    /// larger than the limit, say): resuming them elsewhere would only repeat it.
    public func failJobs(connectionID: UUID, error: String) async throws {
        try await pool.withTransaction { connection in
            try Self.logFailures(try connection.all(ProvisionerJobs.failHeld(connectionID: connectionID, error: error)), on: connection)
        }
    }

    /// Writes each failed job's error into its logs and announces it, so that whoever follows the
    /// logs sees why the job ended, and the daemon still holding it is told to stop.
    static func logFailures(_ failures: [ProvisionerJobs.Failure], on connection: isolated DatabaseConnection) throws {
        for failure in failures {
            try connection.execute(ProvisionerJobLogs.failureNotice(jobID: failure.id, error: failure.error))
            let payload = failure.id.uuidString.lowercased()
            try connection.notify(Self.jobLogsChannel, payload)
            try connection.notify(Self.jobCanceledChannel, payload)
        }
    }

    /// The connection ended: the jobs it held start their grace period. Jobs that a newer
    /// connection has resumed are not its any more and are left alone.
    public func markLeasesLost(connectionID: UUID) async throws {
        try await pool.execute(ProvisionerJobs.markLeasesLost(connectionID: connectionID))
    }

    /// Fails running jobs whose daemon did not come back within `grace`, or that sent nothing for
    /// `hangBound`. Returns the ids it failed.
    ///
    /// The reason goes into the job's logs too, so whoever follows them sees why the build ended.
    /// The failure is also announced as a cancellation: a daemon that is merely slow, not hung,
    /// hears at once that nobody wants its work any more, instead of at its next update.
    public func reapJobs(grace: Duration, hangBound: Duration) async throws -> [UUID] {
        try await pool.withTransaction { connection in
            let failed = try connection.all(ProvisionerJobs.reap(grace: grace, hangBound: hangBound))
            try Self.logFailures(failed, on: connection)
            return failed.map(\.id)
        }
    }
}

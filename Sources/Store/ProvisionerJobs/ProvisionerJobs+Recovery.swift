import Foundation
import Postgres
import ProvisionerProtocol

/// The queue's statements for jobs whose daemon went away or never got them: back to the queue,
/// or failed with a reason (`Store+JobRecovery.swift` runs them).
extension ProvisionerJobs {
    /// A job that was failed, and why: its logs and its daemon hear of it (`Store.logFailures`).
    struct Failure: Sendable {
        var id: UUID
        var error: String
    }

    private static func failure(_ row: PostgresRow) throws -> Failure {
        Failure(id: try row.decode("id"), error: try row.decode("error"))
    }

    /// SQL: the error of a job canceled while it was on its way to a daemon that never got it.
    private static let canceledWhileUndelivered: SQL = "'Canceled before a provisioner daemon took it.'"

    /// The error of a job handed to daemons too often without a single update.
    private static let undeliverableError = "The job was handed to a provisioner daemon \(ProvisionerLimits.maxDeliveriesWithoutUpdate) times without a single update; it is failed instead of being offered again. The daemons may be unable to receive it (is the template archive larger than they accept?)."

    /// Puts back in the queue the jobs of this daemon process that it did not resume (`held`) and
    /// never reported on, unless they were handed over too often.
    static func requeueUnheld(daemonID: UUID, instanceID: String, except held: [UUID]) -> PostgresQuery<Posted> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET started_at = NULL, worker_id = NULL, lease_daemon_id = NULL, last_update_at = NULL,
                lease_lost_at = NULL, lease_connection_id = NULL, lease_instance_id = NULL, updated_at = now()
            WHERE lease_daemon_id = \(daemonID) AND lease_instance_id = \(instanceID) AND completed_at IS NULL AND canceled_at IS NULL
              AND NOT (id = ANY(\(held)::uuid[])) AND deliveries > 0 AND deliveries < \(ProvisionerLimits.maxDeliveriesWithoutUpdate)
            RETURNING \(postedColumns)
            """,
            decode: posted
        )
    }

    /// Fails the rest of those jobs: started ones, canceled ones, and ones handed over too often.
    static func failUnheld(daemonID: UUID, instanceID: String, except held: [UUID]) -> PostgresQuery<Failure> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON',
                error = CASE WHEN canceled_at IS NOT NULL THEN \(canceledWhileUndelivered)
                    WHEN deliveries > 0 THEN \(undeliverableError)
                    ELSE 'The provisioner daemon running this job dropped it without finishing it.' END
            WHERE lease_daemon_id = \(daemonID) AND lease_instance_id = \(instanceID) AND completed_at IS NULL
              AND NOT (id = ANY(\(held)::uuid[]))
            RETURNING id, error
            """,
            decode: failure
        )
    }

    /// Puts back a job its daemon never got, unless it was canceled or handed over too often.
    static func requeueUndelivered(_ lease: JobLease) -> PostgresQuery<Posted> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET started_at = NULL, worker_id = NULL, lease_daemon_id = NULL, last_update_at = NULL,
                lease_connection_id = NULL, lease_instance_id = NULL
            WHERE id = \(lease.jobID) AND lease_daemon_id = \(lease.daemonID) AND lease_epoch = \(lease.epoch)
              AND completed_at IS NULL AND canceled_at IS NULL AND deliveries < \(ProvisionerLimits.maxDeliveriesWithoutUpdate)
            RETURNING \(postedColumns)
            """,
            decode: posted
        )
    }

    /// Ends a job its daemon never got, that could not go back: canceled, or handed over too often.
    static func failUndelivered(_ lease: JobLease) -> PostgresQuery<Failure> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON',
                error = CASE WHEN canceled_at IS NOT NULL THEN \(canceledWhileUndelivered) ELSE \(undeliverableError) END
            WHERE id = \(lease.jobID) AND lease_daemon_id = \(lease.daemonID) AND lease_epoch = \(lease.epoch) AND completed_at IS NULL
            RETURNING id, error
            """,
            decode: failure
        )
    }

    static func failHeld(connectionID: UUID, error: String) -> PostgresQuery<Failure> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON', error = \(error)
            WHERE lease_connection_id = \(connectionID) AND completed_at IS NULL
            RETURNING id, error
            """,
            decode: failure
        )
    }

    static func markLeasesLost(connectionID: UUID) -> PostgresQuery<Void> {
        PostgresQuery(
            "UPDATE provisioner_jobs SET lease_lost_at = now() WHERE lease_connection_id = \(connectionID) AND completed_at IS NULL AND lease_lost_at IS NULL"
        )
    }

    /// Fails running jobs whose daemon did not come back within `grace`, or that sent nothing for `hangBound`.
    static func reap(grace: Duration, hangBound: Duration) -> PostgresQuery<Failure> {
        let graceMilliseconds = SQL.Bind(grace.milliseconds), hangMilliseconds = SQL.Bind(hangBound.milliseconds)
        return PostgresQuery(
            """
            UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON',
                error = CASE WHEN lease_lost_at IS NOT NULL AND lease_lost_at < now() - \(graceMilliseconds) * interval '1 millisecond'
                    THEN 'The provisioner daemon running this job disconnected and did not come back within ' || (\(graceMilliseconds) / 1000)::text || ' seconds.'
                    ELSE 'The provisioner daemon running this job sent no update for ' || (\(hangMilliseconds) / 1000)::text || ' seconds; it is presumed hung.'
                END
            WHERE started_at IS NOT NULL AND completed_at IS NULL
              AND ((lease_lost_at IS NOT NULL AND lease_lost_at < now() - \(graceMilliseconds) * interval '1 millisecond')
                   OR last_update_at < now() - \(hangMilliseconds) * interval '1 millisecond')
            RETURNING id, error
            """,
            decode: failure
        )
    }
}

import Foundation
import Postgres

/// How long each kind of history is kept; nil keeps it for good.
public struct RetentionPolicy: Sendable, Equatable {
    /// Log lines of finished jobs, except each workspace's latest build (what the UI shows).
    public var jobLogs: Duration?
    public var auditLogs: Duration?
    /// Daemons neither connected nor seen (or, never seen, created) for this long.
    public var daemons: Duration?
    /// Rows of replicas silent for this long.
    public var replicas: Duration?

    public init(jobLogs: Duration? = .seconds(90 * 86_400), auditLogs: Duration? = .seconds(90 * 86_400), daemons: Duration? = .seconds(7 * 86_400), replicas: Duration? = .seconds(86_400)) {
        self.jobLogs = jobLogs
        self.auditLogs = auditLogs
        self.daemons = daemons
        self.replicas = replicas
    }
}

/// What one purge deleted.
public struct PurgeCounts: Sendable, Equatable {
    public var jobLogLines = 0
    public var jobsPurged = 0
    public var auditLogs = 0
    public var daemons = 0
    public var replicas = 0
    public init() {}
    public var total: Int { jobLogLines + auditLogs + daemons + replicas }
}

/// The retention statements. Every cut-off is `now() - interval` on the database's clock, so
/// that replicas with skewed clocks agree; deletions go in batches so that no statement holds
/// locks on a large table for long.
enum Retention {
    /// One purge at a time in the deployment, whichever replica runs it (a single-key advisory
    /// lock: the replica liveness locks use the two-key form, so they never collide).
    static let tryLock = PostgresQuery<Bool>("SELECT pg_try_advisory_xact_lock(hashtextextended('coordinator.retention', 0)) AS locked", column: "locked")

    static let batch = 10_000

    static func cutoff(_ duration: Duration) -> Int64 { duration.milliseconds }

    /// The next batch of finished jobs whose logs go: not the job of a workspace's latest build.
    struct PurgedLogs: Sendable {
        let jobs: Int
        let lines: Int
    }

    static func purgeJobLogs(olderThan age: Duration) -> PostgresQuery<PurgedLogs> {
        PostgresQuery(
            """
            WITH doomed AS (
                SELECT j.id FROM provisioner_jobs j
                WHERE j.completed_at IS NOT NULL AND j.logs_purged_at IS NULL
                  AND j.completed_at < now() - \(cutoff(age)) * interval '1 millisecond'
                  AND NOT EXISTS (
                      SELECT 1 FROM workspace_builds b
                      WHERE b.job_id = j.id
                        AND b.build_number = (SELECT max(l.build_number) FROM workspace_builds l WHERE l.workspace_id = b.workspace_id)
                  )
                ORDER BY j.completed_at LIMIT \(batch)
            ), marked AS (
                UPDATE provisioner_jobs SET logs_purged_at = now() WHERE id IN (SELECT id FROM doomed) RETURNING id
            ), deleted AS (
                DELETE FROM provisioner_job_logs WHERE job_id IN (SELECT id FROM marked) RETURNING 1
            )
            SELECT (SELECT count(*) FROM marked) AS jobs, (SELECT count(*) FROM deleted) AS lines
            """
        ) { row in
            PurgedLogs(jobs: Int(try row.decode("jobs", as: Int64.self)), lines: Int(try row.decode("lines", as: Int64.self)))
        }
    }

    static func purgeAuditLogs(olderThan age: Duration) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            DELETE FROM audit_logs WHERE id IN (
                SELECT id FROM audit_logs WHERE time < now() - \(cutoff(age)) * interval '1 millisecond' ORDER BY time LIMIT \(batch)
            )
            """
        )
    }

    static func purgeDaemons(unseenFor age: Duration) -> PostgresQuery<Void> {
        PostgresQuery("DELETE FROM provisioner_daemons WHERE NOT connected AND coalesce(last_seen_at, created_at) < now() - \(cutoff(age)) * interval '1 millisecond'")
    }
}

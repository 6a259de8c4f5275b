import Foundation
import ProvisionerProtocol
import Postgres
import WireFormat

extension Store {
    /// Channel on which every posted job is announced (payload: the job's organization, provisioner and tags).
    public static let jobPostedChannel = "provisioner_job_posted"
    /// Channel on which cancellations are announced (payload: the job id).
    public static let jobCanceledChannel = "provisioner_job_canceled"
    /// Channel on which new log lines of a job are announced (payload: the job id).
    public static let jobLogsChannel = "provisioner_job_logs"

    static let jobColumns = """
        id, created_at, updated_at, started_at, canceled_at, completed_at, error, error_code, organization_id,
        initiator_id, provisioner, type, file_id, input::text AS input, tags::text AS tags, worker_id, lease_daemon_id, lease_epoch,
        lease_lost_at, last_update_at, lease_connection_id, deliveries
        """

    /// Decoded by column name: adding a column to `jobColumns` cannot shift the others.
    static func job(from row: PostgresRow) throws -> ProvisionerJob {
        let id: UUID = try row.decode("id")
        let leaseDaemon = try row.decode("lease_daemon_id", as: UUID?.self)
        return ProvisionerJob(
            id: id, createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            startedAt: try row.decode("started_at", as: Date?.self), canceledAt: try row.decode("canceled_at", as: Date?.self),
            completedAt: try row.decode("completed_at", as: Date?.self),
            error: try row.decode("error", as: String?.self), errorCode: try row.decode("error_code", as: String?.self),
            organizationID: try row.decode("organization_id"), initiatorID: try row.decode("initiator_id"),
            provisioner: try row.decode("provisioner"),
            type: ProvisionerJobType(rawValue: try row.decode("type")) ?? .workspaceBuild, fileID: try row.decode("file_id"),
            input: try row.decode("input"), tags: try decodeTags(try row.decode("tags")), workerID: try row.decode("worker_id", as: UUID?.self),
            lease: try leaseDaemon.map { JobLease(jobID: id, daemonID: $0, epoch: try row.decode("lease_epoch", as: Int32.self)) },
            leaseLostAt: try row.decode("lease_lost_at", as: Date?.self), lastUpdateAt: try row.decode("last_update_at", as: Date?.self),
            leaseConnectionID: try row.decode("lease_connection_id", as: UUID?.self), deliveries: try row.decode("deliveries")
        )
    }

    static func encodeTags(_ tags: [String: String]) -> PostgresJSON {
        let data = (try? JSONSerialization.data(withJSONObject: tags, options: [.sortedKeys])) ?? Data("{}".utf8)
        return PostgresJSON(String(decoding: data, as: UTF8.self))
    }

    static func decodeTags(_ text: String) throws -> [String: String] {
        (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]) ?? [:]
    }

    /// Inserts a job and announces it; the NOTIFY is delivered when the transaction commits.
    static func insertJob(_ job: NewProvisionerJob, on connection: isolated DatabaseConnection) throws {
        let tags = encodeTags(job.tags)
        try connection.query(
            """
            INSERT INTO provisioner_jobs (id, organization_id, initiator_id, provisioner, type, file_id, input, tags)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)
            """,
            [job.id, job.organizationID, job.initiatorID, job.provisioner, job.type.rawValue, job.fileID, PostgresJSON(job.input), tags]
        )
        try announceJobPosted(organizationID: job.organizationID, provisioner: job.provisioner, tags: tags, on: connection)
    }

    /// Tells every replica that a job is waiting; delivered when the transaction commits. The
    /// payload lets each replica wake only the waiter groups that can run it.
    static func announceJobPosted(organizationID: UUID, provisioner: String, tags: PostgresJSON, on connection: isolated DatabaseConnection) throws {
        try connection.query(
            "SELECT pg_notify($1, json_build_object('organization_id', $2::text, 'provisioner', $3::text, 'tags', $4::jsonb)::text)",
            [jobPostedChannel, organizationID, provisioner, tags]
        )
    }

    public func job(id: UUID) async throws -> ProvisionerJob? {
        try await pool.query("SELECT \(Self.jobColumns) FROM provisioner_jobs WHERE id = $1", [id]).first.map(Self.job(from:))
    }

    /// Takes the oldest pending job this daemon can run, in one statement; `SKIP LOCKED` lets any
    /// number of daemons on any number of replicas acquire at once without waiting on each other.
    /// The lease names `connectionID` too, and the hand-over is counted (see `reclaimJobs`).
    /// Only the daemon's current connection acquires: one that a reconnect has replaced (and that
    /// has not heard yet) takes nothing.
    public func acquireJob(daemonID: UUID, connectionID: UUID, instanceID: String, organizationID: UUID, provisioners: [String], tags: [String: String]) async throws -> ProvisionerJob? {
        try await pool.withTransaction { connection in
            let row = try connection.query(
                """
                UPDATE provisioner_jobs SET
                    started_at = now(), updated_at = now(), last_update_at = now(), worker_id = $1,
                    lease_daemon_id = $1, lease_epoch = lease_epoch + 1, lease_lost_at = NULL,
                    lease_connection_id = $5, lease_instance_id = $6, deliveries = deliveries + 1
                WHERE EXISTS (SELECT 1 FROM provisioner_daemons WHERE id = $1 AND connection_id = $5) AND id = (
                    SELECT id FROM provisioner_jobs
                    WHERE started_at IS NULL AND canceled_at IS NULL AND organization_id = $2
                      AND provisioner = ANY($3::text[]) AND provisioner_tagset_contains($4::jsonb, tags)
                    ORDER BY created_at, id
                    FOR UPDATE SKIP LOCKED
                    LIMIT 1
                )
                RETURNING \(Self.jobColumns)
                """,
                [daemonID, organizationID, provisioners, Self.encodeTags(tags), connectionID, instanceID]
            ).first
            guard let row else { return nil }
            let job = try Self.job(from: row)
            try connection.query("UPDATE provisioner_daemons SET current_job_id = $2, last_seen_at = now() WHERE id = $1", [daemonID, job.id])
            return job
        }
    }

    /// Re-attaches a daemon to a job it holds after a reconnect, moving the lease to the new
    /// connection (so the old one ending later does not start the grace period). Nil if the lease
    /// is stale or the job ended.
    public func resumeJob(_ lease: JobLease, connectionID: UUID, instanceID: String) async throws -> ProvisionerJob? {
        try await pool.query(
            """
            UPDATE provisioner_jobs SET lease_lost_at = NULL, last_update_at = now(), updated_at = now(), lease_connection_id = $4,
                lease_instance_id = $5
            WHERE id = $1 AND lease_daemon_id = $2 AND lease_epoch = $3 AND completed_at IS NULL
            RETURNING \(Self.jobColumns)
            """,
            [lease.jobID, lease.daemonID, lease.epoch, connectionID, instanceID]
        ).first.map(Self.job(from:))
    }

    /// Records progress under `lease`, held by `connectionID`: log lines (announced on the logs
    /// channel) and a heartbeat of the job and of its daemon. Lines past the job's cap are dropped,
    /// with one notice line the first time. Returns whether the job has been canceled, so the
    /// daemon can stop.
    public func updateJob(_ lease: JobLease, connectionID: UUID, logs: [JobLogLine], limits: JobLogLimits = JobLogLimits()) async throws -> (canceled: Bool, logIDs: [Int64]) {
        try await pool.withTransaction { connection in
            guard let row = try connection.query(
                """
                UPDATE provisioner_jobs SET last_update_at = now(), updated_at = now(), deliveries = 0
                WHERE id = $1 AND lease_daemon_id = $2 AND lease_epoch = $3 AND lease_connection_id = $4 AND completed_at IS NULL
                RETURNING canceled_at IS NOT NULL AS canceled, log_lines, log_bytes, logs_truncated
                """,
                [lease.jobID, lease.daemonID, lease.epoch, connectionID]
            ).first else { throw LeaseError.stale }
            var budget = JobLogBudget(
                limits: limits, lines: try row.decode("log_lines", as: Int.self), bytes: try row.decode("log_bytes", as: Int.self),
                truncated: try row.decode("logs_truncated", as: Bool.self)
            )
            let (kept, notice) = budget.admit(logs)
            let lines = kept + (notice.map { [$0] } ?? [])
            // One statement for the whole batch, however many lines an update carries, and the
            // job's counters with it.
            let ids = lines.isEmpty ? [] : try connection.query(
                """
                WITH counted AS (
                    UPDATE provisioner_jobs SET log_lines = $7, log_bytes = $8, logs_truncated = $9 WHERE id = $1
                )
                INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output)
                SELECT $1, created_at, source, level, stage, output
                FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
                    AS line(created_at, source, level, stage, output, position)
                ORDER BY position
                RETURNING id
                """,
                [lease.jobID, lines.map { RFC3339.string(from: $0.createdAt) }, lines.map(\.source), lines.map(\.level),
                 lines.map(\.stage), lines.map(\.output), budget.lines, budget.bytes, budget.truncated]
            ).rows.map { try $0.decode(0, as: Int64.self) }.sorted()
            if !ids.isEmpty {
                try connection.notify(Self.jobLogsChannel, lease.jobID.uuidString.lowercased())
            }
            return (try row.decode("canceled", as: Bool.self), ids)
        }
    }

    /// Ends a job under `lease`, held by `connectionID`, with what it produced (resources, and
    /// for a build its new state), in one transaction. Refused (`LeaseError.stale`) for a stale
    /// lease or an ended job, so that a job is never completed twice. Without a new state a build
    /// keeps the last good one (a failed or canceled build must not lose track of resources).
    public func finishJob(_ lease: JobLease, connectionID: UUID?, _ outcome: JobOutcome, resources: [JobResource] = [], state: [UInt8]? = nil) async throws {
        try await pool.withTransaction { connection in
            let (error, code, result): (String?, String?, String?) = switch outcome {
            case .completed(let result): (nil, nil, result)
            case .failed(let error, let code): (error, code, nil)
            }
            let updated = try connection.query(
                """
                UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error = $4, error_code = $5,
                    result = $6::jsonb
                WHERE id = $1 AND lease_daemon_id = $2 AND lease_epoch = $3 AND completed_at IS NULL
                  AND ($7::uuid IS NULL OR lease_connection_id = $7)
                """,
                [lease.jobID, lease.daemonID, lease.epoch, error, code, result.map { PostgresJSON($0) }, connectionID]
            ).affectedRows
            guard updated == 1 else { throw LeaseError.stale }
            try Self.recordBuildOutcome(jobID: lease.jobID, succeeded: error == nil, resources: resources, state: state, on: connection)
            try connection.query("UPDATE provisioner_daemons SET current_job_id = NULL WHERE id = $1 AND current_job_id = $2", [lease.daemonID, lease.jobID])
            try connection.notify(Self.jobLogsChannel, lease.jobID.uuidString.lowercased())
        }
    }

    /// What a finished job leaves on its workspace build, if it is one: resources, their total
    /// cost (summed in 64 bits by the database, never by us), the state, and for a successful
    /// delete the workspace's end.
    static func recordBuildOutcome(jobID: UUID, succeeded: Bool, resources: [JobResource], state: [UInt8]?, on connection: isolated DatabaseConnection) throws {
        guard let transition = try connection.query("SELECT transition FROM workspace_builds WHERE job_id = $1", [jobID]).first?.decode(0, as: String.self) else {
            for resource in resources {
                try connection.query(
                    "INSERT INTO workspace_resources (id, job_id, transition, type, name, daily_cost) VALUES ($1, $2, 'start', $3, $4, $5)",
                    [UUID(), jobID, resource.type, resource.name, resource.dailyCost]
                )
            }
            return
        }
        for resource in resources {
            try connection.query(
                "INSERT INTO workspace_resources (id, job_id, transition, type, name, daily_cost) VALUES ($1, $2, $3, $4, $5, $6)",
                [UUID(), jobID, transition, resource.type, resource.name, resource.dailyCost]
            )
        }
        // Without a new state, the last good one is carried forward from the builds before.
        try connection.query(
            """
            UPDATE workspace_builds b SET updated_at = now(),
                daily_cost = (SELECT COALESCE(sum(r.daily_cost), 0) FROM workspace_resources r WHERE r.job_id = b.job_id),
                state = COALESCE($2, b.state, (
                    SELECT p.state FROM workspace_builds p
                    WHERE p.workspace_id = b.workspace_id AND p.build_number < b.build_number AND p.state IS NOT NULL
                    ORDER BY p.build_number DESC LIMIT 1))
            WHERE b.job_id = $1
            """,
            [jobID, state.map { PostgresBytes($0) }]
        )
        if transition == "delete", succeeded {
            try connection.query(
                "UPDATE workspaces SET deleted = true, updated_at = now() WHERE id = (SELECT workspace_id FROM workspace_builds WHERE job_id = $1)",
                [jobID]
            )
        }
    }

    /// SQL: the error of a job canceled while it was on its way to a daemon that never got it.
    static let canceledWhileUndelivered = "'Canceled before a provisioner daemon took it.'"

    /// The error of a job handed to daemons too often without a single update.
    static let undeliverableError = "The job was handed to a provisioner daemon \(ProvisionerLimits.maxDeliveriesWithoutUpdate) times without a single update; it is failed instead of being offered again. The daemons may be unable to receive it (is the template archive larger than they accept?)."

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
            let heldIDs = held.map { $0.uuidString.lowercased() }
            let returned = try connection.query(
                """
                UPDATE provisioner_jobs SET started_at = NULL, worker_id = NULL, lease_daemon_id = NULL, last_update_at = NULL,
                    lease_lost_at = NULL, lease_connection_id = NULL, lease_instance_id = NULL, updated_at = now()
                WHERE lease_daemon_id = $1 AND lease_instance_id = $4 AND completed_at IS NULL AND canceled_at IS NULL
                  AND NOT (id = ANY($2::uuid[])) AND deliveries > 0 AND deliveries < $3
                RETURNING organization_id, provisioner, tags::text
                """,
                [daemonID, heldIDs, ProvisionerLimits.maxDeliveriesWithoutUpdate, instanceID]
            ).rows
            for row in returned {
                try Self.announceJobPosted(
                    organizationID: try row.decode(0), provisioner: try row.decode(1), tags: try row.decode(2), on: connection
                )
            }
            let failed = try connection.query(
                """
                UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON',
                    error = CASE WHEN canceled_at IS NOT NULL THEN \(Self.canceledWhileUndelivered)
                        WHEN deliveries > 0 THEN $3
                        ELSE 'The provisioner daemon running this job dropped it without finishing it.' END
                WHERE lease_daemon_id = $1 AND lease_instance_id = $4 AND completed_at IS NULL AND NOT (id = ANY($2::uuid[]))
                RETURNING id, error
                """,
                [daemonID, heldIDs, Self.undeliverableError, instanceID]
            ).rows
            try Self.logFailures(failed, on: connection)
        }
    }

    /// Puts back a job that was taken but never reached its daemon (the connection dropped in
    /// between, or its payload could not be read), or fails it if that happened too often. A job
    /// canceled meanwhile ends as canceled: back in the queue it would be taken by nobody, and
    /// its workspace would wait for it forever.
    public func releaseUndeliveredJob(_ lease: JobLease) async throws {
        try await pool.withTransaction { connection in
            let row = try connection.query(
                """
                UPDATE provisioner_jobs SET started_at = NULL, worker_id = NULL, lease_daemon_id = NULL, last_update_at = NULL,
                    lease_connection_id = NULL, lease_instance_id = NULL
                WHERE id = $1 AND lease_daemon_id = $2 AND lease_epoch = $3 AND completed_at IS NULL AND canceled_at IS NULL
                  AND deliveries < $4
                RETURNING organization_id, provisioner, tags::text
                """,
                [lease.jobID, lease.daemonID, lease.epoch, ProvisionerLimits.maxDeliveriesWithoutUpdate]
            ).first
            if let row {
                try Self.announceJobPosted(organizationID: try row.decode(0), provisioner: try row.decode(1), tags: try row.decode(2), on: connection)
                return
            }
            let failed = try connection.query(
                """
                UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON',
                    error = CASE WHEN canceled_at IS NOT NULL THEN \(Self.canceledWhileUndelivered) ELSE $4 END
                WHERE id = $1 AND lease_daemon_id = $2 AND lease_epoch = $3 AND completed_at IS NULL
                RETURNING id, error
                """,
                [lease.jobID, lease.daemonID, lease.epoch, Self.undeliverableError]
            ).rows
            try Self.logFailures(failed, on: connection)
        }
    }

    /// Fails the jobs a connection holds, for a reason of the connection's (it sent a message
    /// larger than the limit, say): resuming them elsewhere would only repeat it.
    public func failJobs(connectionID: UUID, error: String) async throws {
        try await pool.withTransaction { connection in
            let failed = try connection.query(
                """
                UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON', error = $2
                WHERE lease_connection_id = $1 AND completed_at IS NULL
                RETURNING id, error
                """,
                [connectionID, error]
            ).rows
            try Self.logFailures(failed, on: connection)
        }
    }

    /// Writes each failed job's error into its logs and announces it, so that whoever follows the
    /// logs sees why the job ended, and the daemon still holding it is told to stop.
    static func logFailures(_ rows: [PostgresRow], on connection: isolated DatabaseConnection) throws {
        for row in rows {
            let id = try row.decode(0, as: UUID.self)
            try connection.query(
                "INSERT INTO provisioner_job_logs (job_id, source, level, stage, output) VALUES ($1, 'provisioner_daemon', 'error', 'Cleaning Up', $2)",
                [id, try row.decode(1, as: String.self)]
            )
            let payload = id.uuidString.lowercased()
            try connection.notify(Self.jobLogsChannel, payload)
            try connection.notify(Self.jobCanceledChannel, payload)
        }
    }

    /// The connection ended: the jobs it held start their grace period. Jobs that a newer
    /// connection has resumed are not its any more and are left alone.
    public func markLeasesLost(connectionID: UUID) async throws {
        try await pool.query(
            "UPDATE provisioner_jobs SET lease_lost_at = now() WHERE lease_connection_id = $1 AND completed_at IS NULL AND lease_lost_at IS NULL",
            [connectionID]
        )
    }

    /// Fails running jobs whose daemon did not come back within `grace`, or that sent nothing for
    /// `hangBound`. Returns the ids it failed.
    ///
    /// The reason goes into the job's logs too, so whoever follows them sees why the build ended.
    /// The failure is also announced as a cancellation: a daemon that is merely slow, not hung,
    /// hears at once that nobody wants its work any more, instead of at its next update.
    public func reapJobs(grace: Duration, hangBound: Duration) async throws -> [UUID] {
        try await pool.withTransaction { connection in
            let result = try connection.query(
                """
                UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON',
                    error = CASE WHEN lease_lost_at IS NOT NULL AND lease_lost_at < now() - $1 * interval '1 millisecond'
                        THEN 'The provisioner daemon running this job disconnected and did not come back within ' || ($1 / 1000)::text || ' seconds.'
                        ELSE 'The provisioner daemon running this job sent no update for ' || ($2 / 1000)::text || ' seconds; it is presumed hung.'
                    END
                WHERE started_at IS NOT NULL AND completed_at IS NULL
                  AND ((lease_lost_at IS NOT NULL AND lease_lost_at < now() - $1 * interval '1 millisecond')
                       OR last_update_at < now() - $2 * interval '1 millisecond')
                RETURNING id, error
                """,
                [grace.milliseconds, hangBound.milliseconds]
            )
            try Self.logFailures(result.rows, on: connection)
            let reaped = try result.rows.map { try $0.decode(0, as: UUID.self) }
            return reaped
        }
    }

    /// Cancels a job: a pending one ends at once; a running one is told at its next update (and
    /// the cancellation is announced so its daemon's replica tells it now).
    public func cancelJob(id: UUID) async throws -> ProvisionerJob {
        try await pool.withTransaction { connection in
            guard let row = try connection.query(
                """
                UPDATE provisioner_jobs SET canceled_at = COALESCE(canceled_at, now()), updated_at = now(),
                    completed_at = CASE WHEN started_at IS NULL THEN now() ELSE completed_at END,
                    error = CASE WHEN started_at IS NULL THEN 'Canceled before a provisioner daemon took it.' ELSE error END
                WHERE id = $1 AND completed_at IS NULL
                RETURNING \(Self.jobColumns)
                """,
                [id]
            ).first else { throw StoreError.notFound }
            try connection.notify(Self.jobCanceledChannel, id.uuidString.lowercased())
            try connection.notify(Self.jobLogsChannel, id.uuidString.lowercased())
            return try Self.job(from: row)
        }
    }

    /// One page of a job's logs: up to `limit` lines after the line `after`.
    public func jobLogs(jobID: UUID, after: Int64 = 0, limit: Int = 1000) async throws -> [JobLogLine] {
        try await pool.query(
            "SELECT id, created_at, source, level, stage, output FROM provisioner_job_logs WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            [jobID, after, max(1, limit)]
        ).rows.map {
            JobLogLine(id: try $0.decode(0), createdAt: try $0.decode(1), source: try $0.decode(2), level: try $0.decode(3), stage: try $0.decode(4), output: try $0.decode(5))
        }
    }
}


import Foundation
import Postgres

extension Store {
    /// Channel on which every posted job is announced (payload: the job's organization, provisioner and tags).
    public static let jobPostedChannel = "provisioner_job_posted"
    /// Channel on which cancellations are announced (payload: the job id).
    public static let jobCanceledChannel = "provisioner_job_canceled"
    /// Channel on which new log lines of a job are announced (payload: the job id).
    public static let jobLogsChannel = "provisioner_job_logs"

    static let jobColumns = """
        id, created_at, updated_at, started_at, canceled_at, completed_at, error, error_code, organization_id,
        initiator_id, provisioner, type, file_id, input::text, tags::text, worker_id, lease_daemon_id, lease_epoch,
        lease_lost_at, last_update_at
        """

    static func job(from row: PostgresRow) throws -> ProvisionerJob {
        let leaseDaemon = try row.decode(16, as: UUID?.self)
        let id: UUID = try row.decode(0)
        return ProvisionerJob(
            id: id, createdAt: try row.decode(1), updatedAt: try row.decode(2), startedAt: try row.decode(3, as: Date?.self),
            canceledAt: try row.decode(4, as: Date?.self), completedAt: try row.decode(5, as: Date?.self),
            error: try row.decode(6, as: String?.self), errorCode: try row.decode(7, as: String?.self),
            organizationID: try row.decode(8), initiatorID: try row.decode(9), provisioner: try row.decode(10),
            type: ProvisionerJobType(rawValue: try row.decode(11)) ?? .workspaceBuild, fileID: try row.decode(12),
            input: try row.decode(13), tags: try decodeTags(try row.decode(14)), workerID: try row.decode(15, as: UUID?.self),
            lease: leaseDaemon.map { JobLease(jobID: id, daemonID: $0, epoch: (try? row.decode(17, as: Int32.self)) ?? 0) },
            leaseLostAt: try row.decode(18, as: Date?.self), lastUpdateAt: try row.decode(19, as: Date?.self)
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
    public func acquireJob(daemonID: UUID, organizationID: UUID, provisioners: [String], tags: [String: String]) async throws -> ProvisionerJob? {
        try await pool.withTransaction { connection in
            let row = try connection.query(
                """
                UPDATE provisioner_jobs SET
                    started_at = now(), updated_at = now(), last_update_at = now(), worker_id = $1,
                    lease_daemon_id = $1, lease_epoch = lease_epoch + 1, lease_lost_at = NULL
                WHERE id = (
                    SELECT id FROM provisioner_jobs
                    WHERE started_at IS NULL AND canceled_at IS NULL AND organization_id = $2
                      AND provisioner = ANY($3::text[]) AND provisioner_tagset_contains($4::jsonb, tags)
                    ORDER BY created_at, id
                    FOR UPDATE SKIP LOCKED
                    LIMIT 1
                )
                RETURNING \(Self.jobColumns)
                """,
                [daemonID, organizationID, provisioners, Self.encodeTags(tags)]
            ).first
            guard let row else { return nil }
            let job = try Self.job(from: row)
            try connection.query("UPDATE provisioner_daemons SET current_job_id = $2, last_seen_at = now() WHERE id = $1", [daemonID, job.id])
            return job
        }
    }

    /// Re-attaches a daemon to a job it holds after a reconnect. Nil if the lease is stale or the job ended.
    public func resumeJob(_ lease: JobLease) async throws -> ProvisionerJob? {
        try await pool.query(
            """
            UPDATE provisioner_jobs SET lease_lost_at = NULL, last_update_at = now(), updated_at = now()
            WHERE id = $1 AND lease_daemon_id = $2 AND lease_epoch = $3 AND completed_at IS NULL
            RETURNING \(Self.jobColumns)
            """,
            [lease.jobID, lease.daemonID, lease.epoch]
        ).first.map(Self.job(from:))
    }

    /// Records progress under `lease`: log lines (announced on the logs channel) and a heartbeat.
    /// Returns whether the job has been canceled, so the daemon can stop.
    public func updateJob(_ lease: JobLease, logs: [JobLogLine]) async throws -> (canceled: Bool, logIDs: [Int64]) {
        try await pool.withTransaction { connection in
            guard let row = try connection.query(
                """
                UPDATE provisioner_jobs SET last_update_at = now(), updated_at = now()
                WHERE id = $1 AND lease_daemon_id = $2 AND lease_epoch = $3 AND completed_at IS NULL
                RETURNING canceled_at IS NOT NULL
                """,
                [lease.jobID, lease.daemonID, lease.epoch]
            ).first else { throw LeaseError.stale }
            var ids: [Int64] = []
            for line in logs {
                let id = try connection.query(
                    "INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    [lease.jobID, line.createdAt, line.source, line.level, line.stage, line.output]
                ).first!.decode(0, as: Int64.self)
                ids.append(id)
            }
            if !logs.isEmpty {
                try connection.notify(Self.jobLogsChannel, lease.jobID.uuidString.lowercased())
            }
            return (try row.decode(0, as: Bool.self), ids)
        }
    }

    /// Ends a job under `lease`, with what it produced (resources, and for a build its new state),
    /// in one transaction. Refused (`LeaseError.stale`) for a stale lease or an ended job, so that
    /// a job is never completed twice.
    public func finishJob(_ lease: JobLease, _ outcome: JobOutcome, resources: [(name: String, type: String, dailyCost: Int32)] = [], state: [UInt8]? = nil) async throws {
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
                """,
                [lease.jobID, lease.daemonID, lease.epoch, error, code, result.map { PostgresJSON($0) }]
            ).affectedRows
            guard updated == 1 else { throw LeaseError.stale }
            let transition = try connection.query("SELECT transition FROM workspace_builds WHERE job_id = $1", [lease.jobID]).first?.decode(0, as: String.self)
            for resource in resources {
                try connection.query(
                    "INSERT INTO workspace_resources (id, job_id, transition, type, name, daily_cost) VALUES ($1, $2, $3, $4, $5, $6)",
                    [UUID(), lease.jobID, transition ?? "start", resource.type, resource.name, resource.dailyCost]
                )
            }
            if transition != nil {
                try connection.query(
                    "UPDATE workspace_builds SET state = COALESCE($2, state), daily_cost = $3, updated_at = now() WHERE job_id = $1",
                    [lease.jobID, state.map { PostgresBytes($0) }, resources.reduce(Int32(0)) { $0 + $1.dailyCost }]
                )
            }
            if transition == "delete", error == nil {
                try connection.query(
                    "UPDATE workspaces SET deleted = true, updated_at = now() WHERE id = (SELECT workspace_id FROM workspace_builds WHERE job_id = $1)",
                    [lease.jobID]
                )
            }
            try connection.query("UPDATE provisioner_daemons SET current_job_id = NULL WHERE id = $1 AND current_job_id = $2", [lease.daemonID, lease.jobID])
            try connection.notify(Self.jobLogsChannel, lease.jobID.uuidString.lowercased())
        }
    }

    /// A daemon asked for work while jobs are still leased to it that it did not resume (`held`):
    /// it never got them (its replica died between acquisition and delivery) or it restarted.
    /// A job it never reported on goes back to the queue; one it had started fails at once.
    public func reclaimJobs(daemonID: UUID, except held: [UUID]) async throws {
        try await pool.withTransaction { connection in
            let returned = try connection.query(
                """
                UPDATE provisioner_jobs SET started_at = NULL, worker_id = NULL, lease_daemon_id = NULL, last_update_at = NULL,
                    lease_lost_at = NULL, updated_at = now()
                WHERE lease_daemon_id = $1 AND completed_at IS NULL AND canceled_at IS NULL AND NOT (id = ANY($2::uuid[]))
                  AND last_update_at = started_at
                RETURNING organization_id, provisioner, tags::text
                """,
                [daemonID, held.map { $0.uuidString.lowercased() }]
            ).rows
            for row in returned {
                try Self.announceJobPosted(
                    organizationID: try row.decode(0), provisioner: try row.decode(1), tags: try row.decode(2), on: connection
                )
            }
            let failed = try connection.query(
                """
                UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error_code = 'LOST_DAEMON',
                    error = 'The provisioner daemon running this job restarted without resuming it.'
                WHERE lease_daemon_id = $1 AND completed_at IS NULL AND NOT (id = ANY($2::uuid[]))
                RETURNING id
                """,
                [daemonID, held.map { $0.uuidString.lowercased() }]
            ).rows
            for row in failed {
                try connection.notify(Self.jobLogsChannel, try row.decode(0, as: UUID.self).uuidString.lowercased())
            }
        }
    }

    /// The daemon's connection ended: its running jobs start their grace period.
    public func markLeasesLost(daemonID: UUID) async throws {
        try await pool.query(
            "UPDATE provisioner_jobs SET lease_lost_at = now() WHERE lease_daemon_id = $1 AND completed_at IS NULL AND lease_lost_at IS NULL",
            [daemonID]
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
            var reaped: [UUID] = []
            for row in result.rows {
                let id = try row.decode(0, as: UUID.self)
                try connection.query(
                    "INSERT INTO provisioner_job_logs (job_id, source, level, stage, output) VALUES ($1, 'provisioner_daemon', 'error', 'Cleaning Up', $2)",
                    [id, try row.decode(1, as: String.self)]
                )
                let channelPayload = id.uuidString.lowercased()
                try connection.notify(Self.jobLogsChannel, channelPayload)
                try connection.notify(Self.jobCanceledChannel, channelPayload)
                reaped.append(id)
            }
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
            return try Self.job(from: row)
        }
    }

    public func jobLogs(jobID: UUID, after: Int64 = 0) async throws -> [JobLogLine] {
        try await pool.query(
            "SELECT id, created_at, source, level, stage, output FROM provisioner_job_logs WHERE job_id = $1 AND id > $2 ORDER BY id",
            [jobID, after]
        ).rows.map {
            JobLogLine(id: try $0.decode(0), createdAt: try $0.decode(1), source: try $0.decode(2), level: try $0.decode(3), stage: try $0.decode(4), output: try $0.decode(5))
        }
    }
}


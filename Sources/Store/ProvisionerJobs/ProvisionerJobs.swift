import Foundation
import Postgres
import ProvisionerProtocol

public enum ProvisionerJobType: String, Sendable, Codable, PostgresEncodable, PostgresDecodable {
    case templateVersionImport = "template_version_import"
    case workspaceBuild = "workspace_build"
}

/// How many unfinished jobs of one type are pending or running (the jobs metric).
public struct JobCount: Sendable, Equatable {
    public var type: String
    public var status: String
    public var count: Int64
}

public struct ProvisionerJob: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    public var canceledAt: Date?
    public var completedAt: Date?
    public var error: String?
    public var errorCode: String?
    public var organizationID: UUID
    public var initiatorID: UUID
    public var provisioner: String
    public var type: ProvisionerJobType
    public var fileID: UUID
    /// JSON text: what the daemon needs to run the job (template version, build, transition…).
    public var input: String
    public var tags: [String: String]
    public var workerID: UUID?
    public var lease: JobLease?
    public var leaseLostAt: Date?
    public var lastUpdateAt: Date?
    /// The connection that holds the lease now.
    public var leaseConnectionID: UUID?
    /// Hand-overs to a daemon since the job's last update.
    public var deliveries: Int

    /// Coder's job status names.
    public var status: String {
        if let completedAt = completedAt, completedAt > .distantPast {
            if canceledAt != nil { return "canceled" }
            return error == nil || error == "" ? "succeeded" : "failed"
        }
        if canceledAt != nil { return "canceling" }
        return startedAt == nil ? "pending" : "running"
    }
}

/// The fencing token of an acquired job: only the daemon holding the current epoch may touch it.
/// The protocol's own `Lease`, so that the queue and the wire never convert between twins.
public typealias JobLease = Lease

public struct NewProvisionerJob: Sendable {
    public var id: UUID
    public var organizationID: UUID
    public var initiatorID: UUID
    public var provisioner: String
    public var type: ProvisionerJobType
    public var fileID: UUID
    public var input: String
    public var tags: [String: String]

    public init(id: UUID = UUID(), organizationID: UUID, initiatorID: UUID, provisioner: String, type: ProvisionerJobType, fileID: UUID, input: String, tags: [String: String]) {
        self.id = id
        self.organizationID = organizationID
        self.initiatorID = initiatorID
        self.provisioner = provisioner
        self.type = type
        self.fileID = fileID
        self.input = input
        self.tags = tags
    }
}

/// How a job ended, as the daemon reports it; the queue applies it only under a valid lease.
public enum JobOutcome: Sendable, Equatable {
    case completed(result: String)
    case failed(error: String, errorCode: String?)
}

/// Why a job update was refused.
public enum LeaseError: Error, Sendable, Equatable {
    /// The lease is not the current one (another daemon, or an older epoch), or the job ended.
    case stale
}

/// Provisioner tags as a jsonb column or parameter.
typealias TagsJSON = PostgresJSONValue<[String: String]>

/// The `provisioner_jobs` table's statements: the queue.
enum ProvisionerJobs {
    private static let columns: SQL = """
        id, created_at, updated_at, started_at, canceled_at, completed_at, error, error_code, organization_id,
        initiator_id, provisioner, type, file_id, input::text AS input, tags::text AS tags, worker_id, lease_daemon_id, lease_epoch,
        lease_lost_at, last_update_at, lease_connection_id, deliveries
        """

    private static func job(_ row: PostgresRow) throws -> ProvisionerJob {
        let id: UUID = try row.decode("id")
        let leaseDaemon = try row.decode("lease_daemon_id", as: UUID?.self)
        return ProvisionerJob(
            id: id, createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            startedAt: try row.decode("started_at", as: Date?.self), canceledAt: try row.decode("canceled_at", as: Date?.self),
            completedAt: try row.decode("completed_at", as: Date?.self),
            error: try row.decode("error", as: String?.self), errorCode: try row.decode("error_code", as: String?.self),
            organizationID: try row.decode("organization_id"), initiatorID: try row.decode("initiator_id"),
            provisioner: try row.decode("provisioner"), type: try row.decode("type"), fileID: try row.decode("file_id"),
            input: try row.decode("input"), tags: try row.decodeJSON("tags"), workerID: try row.decode("worker_id", as: UUID?.self),
            lease: try leaseDaemon.map { JobLease(jobID: id, daemonID: $0, epoch: try row.decode("lease_epoch", as: Int32.self)) },
            leaseLostAt: try row.decode("lease_lost_at", as: Date?.self), lastUpdateAt: try row.decode("last_update_at", as: Date?.self),
            leaseConnectionID: try row.decode("lease_connection_id", as: UUID?.self), deliveries: try row.decode("deliveries")
        )
    }

    /// What `announcePosted` needs of a job that went (back) into the queue.
    struct Posted: Sendable {
        var organizationID: UUID
        var provisioner: String
        var tags: TagsJSON
    }

    /// What a statement returns of each job it put back in the queue.
    static let postedColumns: SQL = "organization_id, provisioner, tags::text AS tags"

    static func posted(_ row: PostgresRow) throws -> Posted {
        Posted(organizationID: try row.decode("organization_id"), provisioner: try row.decode("provisioner"), tags: try row.decode("tags"))
    }

    static func insert(_ job: NewProvisionerJob) throws -> PostgresQuery<Void> {
        let input = PostgresJSON(job.input), tags = try TagsJSON(job.tags)
        return PostgresQuery(
            """
            INSERT INTO provisioner_jobs (id, organization_id, initiator_id, provisioner, type, file_id, input, tags)
            VALUES (\(job.id), \(job.organizationID), \(job.initiatorID), \(job.provisioner), \(job.type), \(job.fileID),
                \(input)::jsonb, \(tags)::jsonb)
            """
        )
    }

    /// Tells every replica that a job is waiting; delivered when the transaction commits. The
    /// payload lets each replica wake only the waiter groups that can run it.
    static func announcePosted(_ job: Posted) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            SELECT pg_notify(\(Store.jobPostedChannel), json_build_object('organization_id', \(job.organizationID)::text,
                'provisioner', \(job.provisioner)::text, 'tags', \(job.tags)::jsonb)::text)
            """
        )
    }

    /// Unfinished jobs by type and status, each status read through its partial index.
    static let countsByTypeAndStatus = PostgresQuery<JobCount>(
        """
        SELECT type, 'pending' AS status, count(*) AS count FROM provisioner_jobs WHERE started_at IS NULL AND canceled_at IS NULL GROUP BY type
        UNION ALL
        SELECT type, 'running' AS status, count(*) AS count FROM provisioner_jobs WHERE started_at IS NOT NULL AND completed_at IS NULL GROUP BY type
        """
    ) { row in
        JobCount(type: try row.decode("type", as: String.self), status: try row.decode("status", as: String.self), count: try row.decode("count", as: Int64.self))
    }

    static func withID(_ id: UUID) -> PostgresQuery<ProvisionerJob> {
        PostgresQuery("SELECT \(columns) FROM provisioner_jobs WHERE id = \(id)", decode: job)
    }

    /// The oldest pending job the daemon can run, leased to it, if its connection is current.
    static func acquire(daemonID: UUID, connectionID: UUID, instanceID: String, organizationID: UUID, provisioners: [String], tags: [String: String]) throws -> PostgresQuery<ProvisionerJob> {
        let daemon = SQL.Bind(daemonID), connection = SQL.Bind(connectionID), daemonTags = try TagsJSON(tags)
        return PostgresQuery(
            """
            UPDATE provisioner_jobs SET
                started_at = now(), updated_at = now(), last_update_at = now(), worker_id = \(daemon),
                lease_daemon_id = \(daemon), lease_epoch = lease_epoch + 1, lease_lost_at = NULL,
                lease_connection_id = \(connection), lease_instance_id = \(instanceID), deliveries = deliveries + 1
            WHERE EXISTS (SELECT 1 FROM provisioner_daemons WHERE id = \(daemon) AND connection_id = \(connection)) AND id = (
                SELECT id FROM provisioner_jobs
                WHERE started_at IS NULL AND canceled_at IS NULL AND organization_id = \(organizationID)
                  AND provisioner = ANY(\(provisioners)::text[]) AND provisioner_tagset_contains(\(daemonTags)::jsonb, tags)
                ORDER BY created_at, id
                FOR UPDATE SKIP LOCKED
                LIMIT 1
            )
            RETURNING \(columns)
            """,
            decode: job
        )
    }

    /// Moves a held lease to a new connection; no row if the lease is stale or the job ended.
    static func resume(_ lease: JobLease, connectionID: UUID, instanceID: String) -> PostgresQuery<ProvisionerJob> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET lease_lost_at = NULL, last_update_at = now(), updated_at = now(),
                lease_connection_id = \(connectionID), lease_instance_id = \(instanceID)
            WHERE id = \(lease.jobID) AND lease_daemon_id = \(lease.daemonID) AND lease_epoch = \(lease.epoch) AND completed_at IS NULL
            RETURNING \(columns)
            """,
            decode: job
        )
    }

    /// A heartbeat under a lease: whether the job was canceled, and its log counters.
    struct Progress: Sendable {
        var canceled: Bool
        var logLines: Int
        var logBytes: Int
        var logsTruncated: Bool
    }

    /// No row for a stale lease or an ended job.
    static func heartbeat(_ lease: JobLease, connectionID: UUID) -> PostgresQuery<Progress> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET last_update_at = now(), updated_at = now(), deliveries = 0
            WHERE id = \(lease.jobID) AND lease_daemon_id = \(lease.daemonID) AND lease_epoch = \(lease.epoch)
              AND lease_connection_id = \(connectionID) AND completed_at IS NULL
            RETURNING canceled_at IS NOT NULL AS canceled, log_lines, log_bytes, logs_truncated
            """
        ) { row in
            Progress(
                canceled: try row.decode("canceled"), logLines: try row.decode("log_lines"), logBytes: try row.decode("log_bytes"),
                logsTruncated: try row.decode("logs_truncated")
            )
        }
    }

    /// Ends the job under `lease` (and, if given, its connection); touches no row otherwise.
    static func complete(_ lease: JobLease, connectionID: UUID?, _ outcome: JobOutcome) -> PostgresQuery<Void> {
        let (error, code, result): (String?, String?, String?) = switch outcome {
        case .completed(let result): (nil, nil, result)
        case .failed(let error, let code): (error, code, nil)
        }
        let resultJSON = result.map { PostgresJSON($0) }, connection = SQL.Bind(connectionID)
        return PostgresQuery(
            """
            UPDATE provisioner_jobs SET completed_at = now(), updated_at = now(), error = \(error), error_code = \(code),
                result = \(resultJSON)::jsonb
            WHERE id = \(lease.jobID) AND lease_daemon_id = \(lease.daemonID) AND lease_epoch = \(lease.epoch) AND completed_at IS NULL
              AND (\(connection)::uuid IS NULL OR lease_connection_id = \(connection))
            """
        )
    }

    /// A pending job ends at once; a running one is marked and told at its next update.
    static func cancel(id: UUID) -> PostgresQuery<ProvisionerJob> {
        PostgresQuery(
            """
            UPDATE provisioner_jobs SET canceled_at = COALESCE(canceled_at, now()), updated_at = now(),
                completed_at = CASE WHEN started_at IS NULL THEN now() ELSE completed_at END,
                error = CASE WHEN started_at IS NULL THEN 'Canceled before a provisioner daemon took it.' ELSE error END
            WHERE id = \(id) AND completed_at IS NULL
            RETURNING \(columns)
            """,
            decode: job
        )
    }
}

extension ProvisionerJobs.Posted {
    init(_ job: NewProvisionerJob) throws {
        self.init(organizationID: job.organizationID, provisioner: job.provisioner, tags: try TagsJSON(job.tags))
    }
}

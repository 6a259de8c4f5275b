import Foundation
import Postgres

public struct JobLogLine: Sendable, Equatable, Codable {
    public var id: Int64
    public var createdAt: Date
    public var source: String
    public var level: String
    public var stage: String
    public var output: String

    public init(id: Int64 = 0, createdAt: Date = Date(), source: String = "provisioner", level: String = "info", stage: String = "", output: String) {
        self.id = id
        self.createdAt = createdAt
        self.source = source
        self.level = level
        self.stage = stage
        self.output = output
    }
}

/// The `provisioner_job_logs` table's statements.
enum ProvisionerJobLogs {
    /// One statement for the whole batch, however many lines an update carries, and the job's
    /// counters (`budget`) with it. Returns the new lines' ids.
    static func append(jobID: UUID, _ lines: [JobLogLine], budget: JobLogBudget) -> PostgresQuery<Int64> {
        PostgresQuery(
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
            [jobID, lines.map(\.createdAt), lines.map(\.source), lines.map(\.level),
             lines.map(\.stage), lines.map(\.output), budget.lines, budget.bytes, budget.truncated],
            column: "id"
        )
    }

    /// The line that tells whoever follows a job's logs why the job was failed.
    static func failureNotice(jobID: UUID, error: String) -> PostgresQuery<Void> {
        PostgresQuery(
            "INSERT INTO provisioner_job_logs (job_id, source, level, stage, output) VALUES ($1, 'provisioner_daemon', 'error', 'Cleaning Up', $2)",
            [jobID, error]
        )
    }

    /// Up to `limit` lines after the line `after`.
    static func page(jobID: UUID, after: Int64, limit: Int) -> PostgresQuery<JobLogLine> {
        PostgresQuery(
            "SELECT id, created_at, source, level, stage, output FROM provisioner_job_logs WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            [jobID, after, limit]
        ) { row in
            JobLogLine(
                id: try row.decode("id"), createdAt: try row.decode("created_at"), source: try row.decode("source"),
                level: try row.decode("level"), stage: try row.decode("stage"), output: try row.decode("output")
            )
        }
    }
}

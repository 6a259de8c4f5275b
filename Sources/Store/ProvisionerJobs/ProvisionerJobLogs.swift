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
        let job = SQL.Bind(jobID)
        let createdAt = lines.map(\.createdAt), source = lines.map(\.source), level = lines.map(\.level)
        let stage = lines.map(\.stage), output = lines.map(\.output)
        return PostgresQuery(
            """
            WITH counted AS (
                UPDATE provisioner_jobs SET log_lines = \(budget.lines), log_bytes = \(budget.bytes), logs_truncated = \(budget.truncated)
                WHERE id = \(job)
            )
            INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output)
            SELECT \(job), created_at, source, level, stage, output
            FROM unnest(\(createdAt)::timestamptz[], \(source)::text[], \(level)::text[], \(stage)::text[], \(output)::text[]) WITH ORDINALITY
                AS line(created_at, source, level, stage, output, position)
            ORDER BY position
            RETURNING id
            """,
            column: "id"
        )
    }

    /// The line that tells whoever follows a job's logs why the job was failed.
    static func failureNotice(jobID: UUID, error: String) -> PostgresQuery<Void> {
        PostgresQuery(
            "INSERT INTO provisioner_job_logs (job_id, source, level, stage, output) VALUES (\(jobID), 'provisioner_daemon', 'error', 'Cleaning Up', \(error))"
        )
    }

    /// Up to `limit` lines after the line `after`.
    static func page(jobID: UUID, after: Int64, limit: Int) -> PostgresQuery<JobLogLine> {
        PostgresQuery(
            "SELECT id, created_at, source, level, stage, output FROM provisioner_job_logs WHERE job_id = \(jobID) AND id > \(after) ORDER BY id LIMIT \(limit)"
        ) { row in
            JobLogLine(
                id: try row.decode("id"), createdAt: try row.decode("created_at"), source: try row.decode("source"),
                level: try row.decode("level"), stage: try row.decode("stage"), output: try row.decode("output")
            )
        }
    }
}

import Foundation
import Postgres

public struct WorkspaceBuild: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var workspaceID: UUID
    public var templateVersionID: UUID
    public var buildNumber: Int32
    public var transition: String
    public var initiatorID: UUID
    public var jobID: UUID
    /// The sum of the build's resources' costs, per day.
    public var dailyCost: Int64
}

/// The `workspace_builds` table's statements.
enum WorkspaceBuilds {
    private static let columns: SQL = "id, created_at, updated_at, workspace_id, template_version_id, build_number, transition, initiator_id, job_id, daily_cost"

    private static func build(_ row: PostgresRow) throws -> WorkspaceBuild {
        WorkspaceBuild(
            id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            workspaceID: try row.decode("workspace_id"), templateVersionID: try row.decode("template_version_id"),
            buildNumber: try row.decode("build_number"), transition: try row.decode("transition"),
            initiatorID: try row.decode("initiator_id"), jobID: try row.decode("job_id"), dailyCost: try row.decode("daily_cost")
        )
    }

    /// The workspace's next build, run by `job`. It starts at the cost of the build before it:
    /// until it commits its own quota, the workspace's resources are the ones that build left,
    /// so a build that is running, or failed before committing, or was refused by the quota,
    /// still counts what the workspace costs (with 0, a refused rebuild would free its
    /// workspace's share for another workspace while the old resources live on).
    static func insert(workspaceID: UUID, versionID: UUID, transition: String, job: NewProvisionerJob) -> PostgresQuery<WorkspaceBuild> {
        let workspace = SQL.Bind(workspaceID)
        return PostgresQuery(
            """
            INSERT INTO workspace_builds (id, workspace_id, template_version_id, build_number, transition, initiator_id, job_id, daily_cost)
            SELECT \(UUID()), \(workspace), \(versionID), COALESCE(p.build_number, 0) + 1, \(transition), \(job.initiatorID), \(job.id),
                COALESCE(p.daily_cost, 0)
            FROM (SELECT 1) one
            LEFT JOIN LATERAL (
                SELECT build_number, daily_cost FROM workspace_builds WHERE workspace_id = \(workspace) ORDER BY build_number DESC LIMIT 1
            ) p ON true
            RETURNING \(columns)
            """,
            decode: build
        )
    }

    static func withID(_ id: UUID) -> PostgresQuery<WorkspaceBuild> {
        PostgresQuery("SELECT \(columns) FROM workspace_builds WHERE id = \(id)", decode: build)
    }

    static func latest(workspaceID: UUID) -> PostgresQuery<WorkspaceBuild> {
        PostgresQuery("SELECT \(columns) FROM workspace_builds WHERE workspace_id = \(workspaceID) ORDER BY build_number DESC LIMIT 1", decode: build)
    }

    /// A workspace's builds, newest first: those numbered above `afterNumber` and created after
    /// `since` (each nil: any), one page of them.
    static func list(workspaceID: UUID, afterNumber: Int32?, since: Date?, page: Page) -> PostgresQuery<WorkspaceBuild> {
        let afterNumber = SQL.Bind(afterNumber), since = SQL.Bind(since)
        return PostgresQuery(
            """
            SELECT \(columns) FROM workspace_builds
            WHERE workspace_id = \(workspaceID)
              AND (\(afterNumber)::integer IS NULL OR build_number > \(afterNumber))
              AND (\(since)::timestamptz IS NULL OR created_at > \(since))
            """,
            decode: build
        ).paged(limit: page.limit, offset: page.offset, orderBy: "build_number DESC").rows
    }

    /// The provisioner state stored on a build: no row for no build, a nil state for none.
    static func state(id: UUID) -> PostgresQuery<[UInt8]?> {
        PostgresQuery("SELECT state FROM workspace_builds WHERE id = \(id)") { row in
            try row.decode("state", as: PostgresBytes?.self)?.bytes
        }
    }

    /// The status the API shows for build `b` run by job `j` (aliases of the statement this goes
    /// into), in one CASE: the same decision as `ProvisionerJob.status` followed by the API's
    /// `BuildJSON.status`, so that filtering by status agrees with what is shown. A job counts as
    /// completed when `completed_at` is set and not `-infinity` (which reads as `Date.distantPast`,
    /// and `ProvisionerJob.status` counts no completion at or before that). Completed: canceled if
    /// it was canceled, else failed with an error (an empty one is none), else by transition; not
    /// completed: canceling, pending before it started, else by transition; an unknown
    /// transition is failed.
    static let computedStatus: SQL = """
        CASE
            WHEN j.completed_at > '-infinity' AND j.canceled_at IS NOT NULL THEN 'canceled'
            WHEN j.completed_at > '-infinity' AND COALESCE(j.error, '') <> '' THEN 'failed'
            WHEN j.completed_at > '-infinity' AND b.transition = 'start' THEN 'running'
            WHEN j.completed_at > '-infinity' AND b.transition = 'stop' THEN 'stopped'
            WHEN j.completed_at > '-infinity' AND b.transition = 'delete' THEN 'deleted'
            WHEN j.completed_at > '-infinity' THEN 'failed'
            WHEN j.canceled_at IS NOT NULL THEN 'canceling'
            WHEN j.started_at IS NULL THEN 'pending'
            WHEN b.transition = 'start' THEN 'starting'
            WHEN b.transition = 'stop' THEN 'stopping'
            WHEN b.transition = 'delete' THEN 'deleting'
            ELSE 'failed'
        END
        """

    /// Some build of the workspace whose job has not ended.
    static func active(workspaceID: UUID) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            SELECT 1 FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id
            WHERE b.workspace_id = \(workspaceID) AND j.completed_at IS NULL LIMIT 1
            """
        )
    }

    /// The transition of the build run by `jobID`; no row if the job runs no build.
    static func transition(jobID: UUID) -> PostgresQuery<String> {
        PostgresQuery("SELECT transition FROM workspace_builds WHERE job_id = \(jobID)", column: "transition")
    }

    /// The build run by `jobID`, its transition, and the state of the last build before it that
    /// has one: a failed or canceled build in between must not make the next one start from
    /// nothing (and duplicate or orphan resources).
    static func payload(jobID: UUID) -> PostgresQuery<BuildPayload> {
        PostgresQuery(
            """
            SELECT b.transition, w.id AS workspace_id, w.name AS workspace_name, u.username AS owner, u.email AS owner_email,
                   (SELECT p.state FROM workspace_builds p WHERE p.workspace_id = b.workspace_id AND p.build_number < b.build_number
                      AND p.state IS NOT NULL
                    ORDER BY p.build_number DESC LIMIT 1) AS state
            FROM workspace_builds b
            JOIN workspaces w ON w.id = b.workspace_id
            JOIN users u ON u.id = w.owner_id
            WHERE b.job_id = \(jobID)
            """
        ) { row in
            BuildPayload(
                transition: try row.decode("transition"), state: try row.decode("state", as: PostgresBytes?.self)?.bytes,
                workspaceID: try row.decode("workspace_id"), workspaceName: try row.decode("workspace_name"),
                owner: try row.decode("owner"), ownerEmail: try row.decode("owner_email")
            )
        }
    }

    /// Sums the build's resource costs (in the database, in 64 bits) and keeps its state:
    /// without a new one, the last good one is carried forward from the builds before.
    /// The cost is the larger of that sum and what the build committed to its quota: a stop keeps
    /// what it committed for persistent resources (it reports none), a failed build what it
    /// committed before failing (as in Coder), and a daemon that reports more than it committed
    /// is counted at what it reported, so later commits see the real consumption.
    static func recordOutcome(jobID: UUID, state: [UInt8]?) -> PostgresQuery<Void> {
        let newState = state.map { PostgresBytes($0) }
        return PostgresQuery(
            """
            UPDATE workspace_builds b SET updated_at = now(),
                daily_cost = GREATEST(b.daily_cost, (SELECT COALESCE(sum(r.daily_cost), 0) FROM workspace_resources r WHERE r.job_id = b.job_id)),
                state = COALESCE(\(newState), b.state, (
                    SELECT p.state FROM workspace_builds p
                    WHERE p.workspace_id = b.workspace_id AND p.build_number < b.build_number AND p.state IS NOT NULL
                    ORDER BY p.build_number DESC LIMIT 1))
            WHERE b.job_id = \(jobID)
            """
        )
    }
}

import Foundation
import Postgres

/// One group's share of a user's workspace budget in an organization (coder/coder#6271: admins
/// could not see where a budget came from, because allowances add up across groups).
public struct QuotaAllowance: Sendable, Equatable {
    public var groupID: UUID
    public var groupName: String
    public var quotaAllowance: Int64

    public init(groupID: UUID, groupName: String, quotaAllowance: Int64) {
        self.groupID = groupID
        self.groupName = groupName
        self.quotaAllowance = quotaAllowance
    }
}

/// A user's quota in one organization: what their groups allow, and what their workspaces cost.
public struct WorkspaceQuota: Sendable, Equatable {
    public var allowances: [QuotaAllowance]
    public var creditsConsumed: Int64
    /// The sum of the allowances (they simply add up, as in Coder).
    public var budget: Int64 { allowances.reduce(0) { $0 &+ $1.quotaAllowance } }
}

/// The answer to a daemon's `commit_quota`. `budget` is −1 when quotas are not enforced.
public struct QuotaDecision: Sendable, Equatable {
    public var ok: Bool
    public var creditsConsumed: Int64
    public var budget: Int64

    public init(ok: Bool, creditsConsumed: Int64, budget: Int64) {
        self.ok = ok
        self.creditsConsumed = creditsConsumed
        self.budget = budget
    }
}

/// The build a job runs, as a quota commit needs it.
struct QuotaBuild: Sendable {
    var workspaceID: UUID
    var buildNumber: Int32
    var transition: String
    var ownerID: UUID
    var organizationID: UUID
}

/// The statements of workspace quotas (over `groups`, `group_members`, `workspaces` and
/// `workspace_builds`; quotas have no table of their own).
enum Quotas {
    /// The groups of `userID` in `organizationID` with their allowances: the ones they are a
    /// member of, and the organization's Everyone group (its id is the organization's, its
    /// membership implicit: every organization member) when they are a member of the
    /// organization. Only this organization's Everyone group: v0.17 added every organization's.
    /// Everyone first, then by name (bytewise, whatever the database's collation).
    static func allowances(userID: UUID, organizationID: UUID) -> PostgresQuery<QuotaAllowance> {
        let user = SQL.Bind(userID), organization = SQL.Bind(organizationID)
        return PostgresQuery(
            """
            SELECT g.id, g.name, g.quota_allowance::bigint AS quota_allowance FROM groups g
            WHERE g.organization_id = \(organization) AND (
                (g.id = g.organization_id AND EXISTS (
                    SELECT 1 FROM organization_members m WHERE m.organization_id = \(organization) AND m.user_id = \(user)))
                OR EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = g.id AND gm.user_id = \(user)))
            ORDER BY g.id = g.organization_id DESC, g.name COLLATE "C", g.id
            """
        ) { row in
            QuotaAllowance(groupID: try row.decode("id"), groupName: try row.decode("name"), quotaAllowance: try row.decode("quota_allowance"))
        }
    }

    /// The sum of `daily_cost` of the latest build of each non-deleted workspace of `userID` in
    /// `organizationID`, leaving out `exceptWorkspace` (the one a commit is for). Summed by the
    /// database; a total past 64 bits is an error, not a wrapped number.
    static func consumed(userID: UUID, organizationID: UUID, exceptWorkspace: UUID? = nil) -> PostgresQuery<Int64> {
        let except = SQL.Bind(exceptWorkspace)
        return PostgresQuery(
            """
            SELECT COALESCE(sum(b.daily_cost), 0)::bigint AS consumed FROM workspaces w
            CROSS JOIN LATERAL (
                SELECT daily_cost FROM workspace_builds WHERE workspace_id = w.id ORDER BY build_number DESC LIMIT 1
            ) b
            WHERE w.owner_id = \(userID) AND w.organization_id = \(organizationID) AND NOT w.deleted
              AND (\(except)::uuid IS NULL OR w.id <> \(except))
            """,
            column: "consumed"
        )
    }

    /// The build run by the job held under `lease` on `connectionID`; no row when the lease is
    /// stale, the job ended, or it runs no workspace build.
    static func build(_ lease: JobLease, connectionID: UUID?) -> PostgresQuery<QuotaBuild> {
        let connection = SQL.Bind(connectionID)
        return PostgresQuery(
            """
            SELECT b.workspace_id, b.build_number, b.transition, w.owner_id, w.organization_id
            FROM provisioner_jobs j
            JOIN workspace_builds b ON b.job_id = j.id
            JOIN workspaces w ON w.id = b.workspace_id
            WHERE j.id = \(lease.jobID) AND j.lease_daemon_id = \(lease.daemonID) AND j.lease_epoch = \(lease.epoch) AND j.completed_at IS NULL
              AND (\(connection)::uuid IS NULL OR j.lease_connection_id = \(connection))
            """
        ) { row in
            QuotaBuild(
                workspaceID: try row.decode("workspace_id"), buildNumber: try row.decode("build_number"), transition: try row.decode("transition"),
                ownerID: try row.decode("owner_id"), organizationID: try row.decode("organization_id")
            )
        }
    }

    /// Whether the job is held under `lease` on `connectionID` and still running.
    static func held(_ lease: JobLease, connectionID: UUID?) -> PostgresQuery<Void> {
        let connection = SQL.Bind(connectionID)
        return PostgresQuery(
            """
            SELECT 1 FROM provisioner_jobs
            WHERE id = \(lease.jobID) AND lease_daemon_id = \(lease.daemonID) AND lease_epoch = \(lease.epoch) AND completed_at IS NULL
              AND (\(connection)::uuid IS NULL OR lease_connection_id = \(connection))
            """
        )
    }

    /// Commits of one user in one organization wait for each other (until this transaction
    /// ends), so two concurrent builds cannot both see the room only one of them fits in. At most
    /// 30 s, as in Coder; then the statement fails and the daemon hears an error.
    static let lockTimeout = PostgresQuery<Void>("SET LOCAL lock_timeout = '30s'")

    static func lock(userID: UUID, organizationID: UUID) -> PostgresQuery<Void> {
        PostgresQuery(
            "SELECT pg_advisory_xact_lock(hashtextextended('coordinator.workspace_quota:' || \(userID)::text || ':' || \(organizationID)::text, 0))"
        )
    }

    /// The committed cost of the build before `buildNumber` of the workspace; no row for a first build.
    static func previousCost(workspaceID: UUID, buildNumber: Int32) -> PostgresQuery<Int64> {
        PostgresQuery(
            "SELECT daily_cost FROM workspace_builds WHERE workspace_id = \(workspaceID) AND build_number < \(buildNumber) ORDER BY build_number DESC LIMIT 1",
            column: "daily_cost"
        )
    }

    static func setCost(jobID: UUID, dailyCost: Int64) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE workspace_builds SET daily_cost = \(dailyCost), updated_at = now() WHERE job_id = \(jobID)")
    }
}

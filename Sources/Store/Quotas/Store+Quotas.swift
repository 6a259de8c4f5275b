import Foundation
import Postgres

extension Store {
    /// `userID`'s quota in `organizationID`: the allowances of their groups there (Everyone
    /// included) and the cost of their workspaces there, read in one snapshot.
    public func quota(userID: UUID, organizationID: UUID) async throws -> WorkspaceQuota {
        try await pool.withTransaction { connection in
            WorkspaceQuota(
                allowances: try connection.all(Quotas.allowances(userID: userID, organizationID: organizationID)),
                creditsConsumed: try connection.one(Quotas.consumed(userID: userID, organizationID: organizationID)) ?? 0
            )
        }
    }

    /// A daemon's `commit_quota` for the job it holds under `lease`: may its build go on at
    /// `dailyCost` a day? Throws `LeaseError.stale` unless the lease is held on `connectionID`
    /// and the job is running.
    ///
    /// In one transaction, under an advisory lock per (owner, organization) so that concurrent
    /// commits of one user are decided one after the other:
    /// - consumed = the latest builds' costs of the owner's *other* workspaces in the
    ///   organization, plus `dailyCost` for this one. The build being committed is its
    ///   workspace's latest, so a rebuild replaces the workspace's previous cost rather than
    ///   adding to it.
    /// - It is refused when consumed exceeds the budget and the build is a net increase: its cost
    ///   is at least the committed cost of the workspace's previous build (or it has none). v0.17
    ///   compared with the new build's own stored cost, always 0, so every rebuild of a
    ///   workspace that had a cost passed whatever it cost; here the previous build's committed
    ///   cost is read, so a rebuild at a higher cost is an increase. A build that costs less than
    ///   the one before (a stop, keeping only persistent resources) passes even over budget, so
    ///   a user over budget (an allowance lowered) can always scale down.
    /// - Allowed, the build's `daily_cost` is stored before the lock is released, so the next
    ///   commit counts it.
    ///
    /// `enforce` false (template RBAC off): every commit is allowed and the budget is −1; the cost
    /// is still stored, so that the consumption is right when quotas are switched on. Delete
    /// builds are always allowed and store nothing (the workspace ends). A job that runs no
    /// workspace build (an import) has nothing to count: allowed, budget −1.
    public func commitQuota(_ lease: JobLease, connectionID: UUID?, dailyCost: Int64, enforce: Bool) async throws -> QuotaDecision {
        try await pool.withTransaction { connection in
            guard let build = try connection.one(Quotas.build(lease, connectionID: connectionID)) else {
                guard try connection.one(Quotas.held(lease, connectionID: connectionID)) != nil else { throw LeaseError.stale }
                return QuotaDecision(ok: true, creditsConsumed: 0, budget: -1)
            }
            try connection.execute(Quotas.lockTimeout)
            try connection.execute(Quotas.lock(userID: build.ownerID, organizationID: build.organizationID))
            let others = try connection.one(Quotas.consumed(userID: build.ownerID, organizationID: build.organizationID, exceptWorkspace: build.workspaceID)) ?? 0
            let budget = enforce
                ? WorkspaceQuota(allowances: try connection.all(Quotas.allowances(userID: build.ownerID, organizationID: build.organizationID)), creditsConsumed: 0).budget
                : -1
            if build.transition == "delete" {
                return QuotaDecision(ok: true, creditsConsumed: others, budget: budget)
            }
            // Both are at most 64-bit sums of checked costs; saturate rather than trap.
            let (sum, overflow) = others.addingReportingOverflow(dailyCost)
            let consumed = overflow ? Int64.max : sum
            if enforce, consumed > budget {
                let previous = try connection.one(Quotas.previousCost(workspaceID: build.workspaceID, buildNumber: build.buildNumber))
                let netIncrease = previous.map { dailyCost >= $0 } ?? true
                if netIncrease { return QuotaDecision(ok: false, creditsConsumed: others, budget: budget) }
            }
            try connection.execute(Quotas.setCost(jobID: lease.jobID, dailyCost: dailyCost))
            return QuotaDecision(ok: true, creditsConsumed: consumed, budget: budget)
        }
    }
}

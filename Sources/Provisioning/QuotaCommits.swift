import Foundation
import Store

/// A replica's workspace quota commits (`commit_quota`), shared by its daemon sessions: whether
/// quotas are enforced now, and how many commits may hold a database connection at once. A
/// commit waits in its transaction for its owner's advisory lock; without the bound, many daemons
/// committing for one user together would hold one pooled connection each while they wait, and
/// REST requests would find none.
public final class QuotaCommits: Sendable {
    /// Asked at each commit (the licensing side answers; this layer does not depend on it).
    let enforced: @Sendable () -> Bool
    private let connections: ConcurrencyLimit

    public init(enforced: @escaping @Sendable () -> Bool, maxConcurrentCommits: Int = 2) {
        self.enforced = enforced
        self.connections = ConcurrencyLimit(maxConcurrentCommits)
    }

    func commit(_ lease: JobLease, connectionID: UUID, dailyCost: Int64, in store: Store) async throws -> QuotaDecision {
        try await connections.run {
            try await store.commitQuota(lease, connectionID: connectionID, dailyCost: dailyCost, enforce: enforced())
        }
    }
}

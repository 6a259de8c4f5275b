import Foundation
import Postgres

extension Store {
    /// Deletes what `policy` no longer keeps, in one transaction under the deployment's
    /// retention lock; nil when another replica holds it (it is purging now). Audit rows and job
    /// logs go in batches until none is left.
    public func purge(_ policy: RetentionPolicy) async throws -> PurgeCounts? {
        try await pool.withTransaction { connection in
            guard try connection.one(Retention.tryLock) == true else { return nil }
            var counts = PurgeCounts()
            if let age = policy.jobLogs {
                while true {
                    guard let purged = try connection.one(Retention.purgeJobLogs(olderThan: age)) else { break }
                    counts.jobsPurged += purged.jobs
                    counts.jobLogLines += purged.lines
                    if purged.jobs < Retention.batch { break }
                }
            }
            if let age = policy.auditLogs {
                while true {
                    let deleted = try connection.execute(Retention.purgeAuditLogs(olderThan: age))
                    counts.auditLogs += deleted
                    if deleted < Retention.batch { break }
                }
            }
            if let age = policy.daemons { counts.daemons = try connection.execute(Retention.purgeDaemons(unseenFor: age)) }
            if let age = policy.replicas { counts.replicas = try connection.execute(Replicas.deleteOld(retention: age)) }
            return counts
        }
    }
}

import Logging
import Store

/// Purges history past its retention every `interval`, on whichever replica takes the
/// deployment's retention lock first; the others skip that round. The first purge runs a
/// minute after start, so that a rolling restart does not stack purges on a fresh database.
struct RetentionPurges: Sendable {
    let store: Store
    let policy: RetentionPolicy
    let interval: Duration
    let firstDelay: Duration
    let logger: Logger

    func run() async {
        guard (try? await Task.sleep(for: firstDelay)) != nil else { return }
        while !Task.isCancelled {
            do {
                if let counts = try await store.purge(policy), counts.total > 0 {
                    logger.info("purged old history", metadata: [
                        "job_log_lines": "\(counts.jobLogLines)", "jobs": "\(counts.jobsPurged)", "audit_logs": "\(counts.auditLogs)",
                        "daemons": "\(counts.daemons)", "replicas": "\(counts.replicas)",
                    ])
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("purging old history failed; trying again next round", metadata: ["error": "\(error)"])
            }
            guard (try? await Task.sleep(for: interval)) != nil else { return }
        }
    }
}

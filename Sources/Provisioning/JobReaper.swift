import Foundation
import Logging
import Store

/// Fails jobs whose daemon vanished: not back within `grace` after its connection ended, or
/// silent for `hangBound` (the backstop for a daemon that is connected but stuck). Every replica
/// runs one; the UPDATE is idempotent, so they never fail a job twice.
public struct JobReaper: Sendable {
    public let store: Store
    public let grace: Duration
    public let hangBound: Duration
    public let interval: Duration
    let logger: Logger

    public init(store: Store, grace: Duration = .seconds(30), hangBound: Duration = .seconds(300), interval: Duration = .seconds(1), logger: Logger = Logger(label: "provisioning.reaper")) {
        self.store = store
        self.grace = grace
        self.hangBound = hangBound
        self.interval = interval
        self.logger = logger
    }

    public func run() async {
        while !Task.isCancelled {
            do {
                let failed = try await store.reapJobs(grace: grace, hangBound: hangBound)
                for id in failed { logger.warning("failed an orphaned job", metadata: ["job": "\(id)"]) }
            } catch {
                logger.debug("reaping jobs failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}

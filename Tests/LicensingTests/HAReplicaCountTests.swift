import Foundation
import Licensing
import Testing

/// The HA check counts only replicas that have been up longer than the grace.
@Suite struct HAReplicaCountTests {
    @Test func aReplicaYoungerThanTheGraceDoesNotCountYet() {
        let old = now - 3600, young = now - 10
        let count = HAReplicaCount(startTimes: [old, young], grace: 60, now: now)
        #expect(count.count == 1)
        // It counts 60 s after it started: the entitlements are recomputed then.
        #expect(count.changesAt == young + 60)
    }

    @Test func withoutAGraceEveryLiveReplicaCounts() {
        let count = HAReplicaCount(startTimes: [now - 3600, now], grace: 0, now: now)
        #expect(count.count == 2)
        #expect(count.changesAt == nil)
    }

    @Test func aRollingRestartOfOneReplicaNeverCountsTwo() {
        // The old replica drains while its replacement starts: only one is past the grace.
        let replacement = now - 5
        #expect(HAReplicaCount(startTimes: [now - 86_400, replacement], grace: 60, now: now).count == 1)
        // Once the old one is gone, the replacement alone, whatever its age.
        #expect(HAReplicaCount(startTimes: [replacement], grace: 60, now: now + 120).count == 1)
    }

    @Test func theBoundaryIsInclusive() {
        #expect(HAReplicaCount(startTimes: [now - 60], grace: 60, now: now).count == 1)
    }
}

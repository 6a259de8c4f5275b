import Postgres
import Testing
import TestSupport
@testable import Pubsub

/// The self-test's rules on a clock the test moves: when pubsub counts as broken, what a round
/// trip measures, which answers still count. Probes go to a list instead of the database.
@Suite struct PubsubSelfTestTests {
    static let configuration = PubsubSelfTest.Configuration(interval: .seconds(2), bound: .seconds(5))

    /// A self-test whose probe loop runs on `clock` and publishes into `published`.
    final class Probing: Sendable {
        let clock: ManualClock
        let selfTest: PubsubSelfTest
        let published: Watched<[String]>
        private let loop: Task<Void, Never>

        /// `failure`: what every publish throws; nil: publishing works.
        init(publish failure: (any Error)? = nil) async throws {
            let (clock, published) = (ManualClock(), Watched<[String]>([]))
            let selfTest = PubsubSelfTest(configuration: PubsubSelfTestTests.configuration, clock: clock)
            (self.clock, self.published, self.selfTest) = (clock, published, selfTest)
            loop = Task {
                await selfTest.run { nonce in
                    published.update { $0.append(nonce) }
                    if let failure { throw failure }
                }
            }
            // The first probe goes out at once; then the loop sleeps for an interval.
            try await clock.waitForSleepers()
        }

        /// Moves the clock one probe interval on and returns the probe the loop then sent.
        func nextProbe() async throws -> String {
            clock.advance(PubsubSelfTestTests.configuration.interval)
            try await clock.waitForSleepers()
            return published.value.last!
        }

        var firstProbe: String { published.value[0] }

        deinit { loop.cancel() }
    }

    @Test func untilTheFirstRoundTripItIsStartingForTheBoundPlusOneInterval() {
        let clock = ManualClock()
        let selfTest = PubsubSelfTest(configuration: Self.configuration, clock: clock)
        #expect(selfTest.health == .starting)
        clock.advance(.seconds(7))
        #expect(selfTest.health == .starting)
        clock.advance(.milliseconds(1))
        #expect(selfTest.health == .broken("pubsub is not working: no NOTIFY round trip in 7.0s"))
        #expect(selfTest.isBroken)
    }

    @Test func aRoundTripIsTheTimeFromProbeToAnswer() async throws {
        let probing = try await Probing()
        probing.clock.advance(.milliseconds(120))
        probing.selfTest.received(probing.firstProbe)
        #expect(probing.selfTest.health == .healthy(roundTrip: .milliseconds(120)))
        // An answer counts once, and a nonce we never sent not at all.
        probing.clock.advance(.milliseconds(100))
        probing.selfTest.received(probing.firstProbe)
        probing.selfTest.received("never-sent")
        #expect(probing.selfTest.health == .healthy(roundTrip: .milliseconds(120)))
    }

    @Test func healthyTurnsBrokenWhenAnswersStopForTheBoundPlusOneInterval() async throws {
        let probing = try await Probing()
        probing.selfTest.received(probing.firstProbe)
        #expect(probing.selfTest.health == .healthy(roundTrip: .zero))
        probing.clock.advance(.seconds(7))
        #expect(probing.selfTest.health == .healthy(roundTrip: .zero))
        probing.clock.advance(.milliseconds(1))
        #expect(probing.selfTest.health == .broken("pubsub is not working: no NOTIFY round trip in 7.0s"))
    }

    @Test func anAnswerOlderThanTheBoundNoLongerCounts() async throws {
        let probing = try await Probing()
        let atTwo = try await probing.nextProbe()
        _ = try await probing.nextProbe()
        // At 6 s the probe sent at 0 s is past the bound and forgotten; the one sent at 2 s is not.
        _ = try await probing.nextProbe()
        probing.selfTest.received(probing.firstProbe)
        #expect(probing.selfTest.health == .starting)
        probing.selfTest.received(atTwo)
        #expect(probing.selfTest.health == .healthy(roundTrip: .seconds(4)))
    }

    @Test func aFailingPublishIsNamedOnceTheBoundPasses() async throws {
        let probing = try await Probing(publish: PostgresError(.connection, "could not connect to server at 10.0.0.7:5432"))
        #expect(probing.selfTest.health == .starting)
        probing.clock.advance(.seconds(7) + .milliseconds(1))
        // The kind of failure only: libpq's text names hosts and ports.
        #expect(probing.selfTest.health == .broken("pubsub is not working: cannot publish: database unreachable"))
    }

    @Test func aPublishFailingOtherwiseIsCalledAFailedNotify() async throws {
        let probing = try await Probing(publish: PostgresError(.server, "permission denied", sqlState: "42501"))
        probing.clock.advance(.seconds(7) + .milliseconds(1))
        #expect(probing.selfTest.health == .broken("pubsub is not working: cannot publish: the NOTIFY failed"))
    }

    @Test func aRestoredConnectionGetsAFullBoundBeforeItIsJudged() {
        let clock = ManualClock()
        let selfTest = PubsubSelfTest(configuration: Self.configuration, clock: clock)
        clock.advance(.seconds(6))
        selfTest.connectionRestored()
        clock.advance(.seconds(7))
        #expect(selfTest.health == .starting)
        clock.advance(.milliseconds(1))
        #expect(selfTest.isBroken)
    }

    @Test func onceARoundTripSucceededARestoreDoesNotResetTheJudgement() async throws {
        let probing = try await Probing()
        probing.selfTest.received(probing.firstProbe)
        probing.clock.advance(.seconds(7) + .milliseconds(1))
        probing.selfTest.connectionRestored()
        #expect(probing.selfTest.isBroken)
    }

    @Test func durationsAreShownInMillisecondsOrTenthsOfASecond() {
        #expect(PubsubSelfTest.format(.milliseconds(999)) == "999ms")
        #expect(PubsubSelfTest.format(.milliseconds(1000)) == "1.0s")
        #expect(PubsubSelfTest.format(.milliseconds(7001)) == "7.0s")
        #expect(PubsubSelfTest.format(.milliseconds(1500)) == "1.5s")
    }
}

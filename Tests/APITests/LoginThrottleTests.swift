import Foundation
import HTTPTypes
import Synchronization
import Testing
@testable import API

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
}

@Suite struct LoginThrottleTests {
    @Test func anAccountIsLockedAfterItsFailuresUntilTheyAgeOut() {
        let clock = ManualClock()
        let throttle = LoginThrottle(policy: .init(failuresPerAccount: 3, failuresPerAddress: 100, window: .seconds(60)), now: { clock.now })
        for _ in 0..<2 {
            throttle.recordFailure(account: "A@example.com", address: "192.0.2.1")
            clock.advance(.seconds(10))
        }
        #expect(throttle.retryAfter(account: "a@example.com", address: "192.0.2.1") == nil)
        throttle.recordFailure(account: "a@example.com", address: "192.0.2.9")
        // The first failure was 20 s ago: free again in 40 s, from any address, whatever the case.
        #expect(throttle.retryAfter(account: "A@EXAMPLE.COM", address: "198.51.100.1") == .seconds(40))
        #expect(throttle.retryAfter(account: "b@example.com", address: "192.0.2.1") == nil)
        clock.advance(.seconds(39))
        #expect(throttle.retryAfter(account: "a@example.com", address: nil) == .seconds(1))
        clock.advance(.seconds(1))
        #expect(throttle.retryAfter(account: "a@example.com", address: nil) == nil)
    }

    @Test func anAddressIsLockedAcrossAccountsAndSuccessClearsOnlyTheAccount() {
        let clock = ManualClock()
        let throttle = LoginThrottle(policy: .init(failuresPerAccount: 2, failuresPerAddress: 3, window: .seconds(60)), now: { clock.now })
        for name in ["x", "y", "z"] { throttle.recordFailure(account: "\(name)@example.com", address: "192.0.2.1") }
        #expect(throttle.retryAfter(account: "fresh@example.com", address: "192.0.2.1") == .seconds(60))
        #expect(throttle.retryAfter(account: "fresh@example.com", address: "192.0.2.2") == nil)

        throttle.recordFailure(account: "x@example.com", address: "192.0.2.3")
        #expect(throttle.retryAfter(account: "x@example.com", address: "192.0.2.4") != nil)
        throttle.recordSuccess(account: "x@example.com")
        #expect(throttle.retryAfter(account: "x@example.com", address: "192.0.2.4") == nil)
        #expect(throttle.retryAfter(account: "x@example.com", address: "192.0.2.1") != nil)
    }

    @Test func retryAfterRoundsUpToWholeSeconds() {
        #expect(Duration.milliseconds(1).retryAfterSeconds == 1)
        #expect(Duration.milliseconds(1500).retryAfterSeconds == 2)
        #expect(Duration.seconds(40).retryAfterSeconds == 40)
    }

    @Test func forwardedAddressesAreBelievedOnlyFromTrustedProxies() {
        let trust = ProxyTrust(origins: [IPNetwork("10.0.0.0/8")!, IPNetwork("fd00::/8")!], headers: [HTTPField.Name("X-Forwarded-For")!])
        let forwarded: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "198.51.100.7, 10.1.2.3"]
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: forwarded) == "198.51.100.7")
        #expect(trust.clientAddress(peer: "fd00::1", headers: forwarded) == "198.51.100.7")
        #expect(trust.clientAddress(peer: "::ffff:10.0.0.1", headers: forwarded) == "198.51.100.7")
        #expect(trust.clientAddress(peer: "192.0.2.1", headers: forwarded) == "192.0.2.1")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: [:]) == "10.9.9.9")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: [HTTPField.Name("X-Forwarded-For")!: "not-an-ip"]) == "10.9.9.9")
        #expect(ProxyTrust(origins: [IPNetwork("10.0.0.0/8")!]).clientAddress(peer: "10.9.9.9", headers: forwarded) == "10.9.9.9")
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("example.com") == nil)
        #expect(IPNetwork("192.0.2.0/25")!.contains("192.0.2.127"))
        #expect(!IPNetwork("192.0.2.0/25")!.contains("192.0.2.128"))
    }
}

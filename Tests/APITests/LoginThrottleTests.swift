import Foundation
import HTTPTypes
import Testing
import TestSupport
@testable import API

@Suite struct LoginThrottleTests {
    @Test func anAccountIsLockedAfterItsFailuresUntilTheyAgeOut() {
        let clock = ManualClock()
        let throttle = LoginThrottle(policy: .init(failuresPerAccount: 3, failuresPerAddress: 100, window: .seconds(60)), now: { clock.now })
        for _ in 0..<2 {
            throttle.recordFailure(account: "a@example.com", address: "192.0.2.1")
            clock.advance(.seconds(10))
        }
        #expect(throttle.retryAfter(account: "a@example.com", address: "192.0.2.1") == nil)
        throttle.recordFailure(account: "a@example.com", address: "192.0.2.9")
        // The first failure was 20 s ago: free again in 40 s, from any address. (Accounts are
        // keys as given: the login resolves spellings to one account before it asks.)
        #expect(throttle.retryAfter(account: "a@example.com", address: "198.51.100.1") == .seconds(40))
        #expect(throttle.retryAfter(account: "A@EXAMPLE.COM", address: "198.51.100.1") == nil)
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

    @Test func attemptsInFlightCountBeforeTheyFinish() {
        let clock = ManualClock()
        let throttle = LoginThrottle(policy: .init(failuresPerAccount: 3, failuresPerAddress: 100, window: .seconds(60)), now: { clock.now })
        // A burst arriving together, all still hashing: only the first three get through.
        let outcomes = (0..<10).map { _ in throttle.begin(account: "a@example.com", address: "192.0.2.1") }
        #expect(outcomes.filter { if case .success = $0 { true } else { false } }.count == 3)
        // One of them had the right password: the account is free again, and that attempt does not
        // count against the address.
        guard case .success(let good) = outcomes[0] else { Issue.record("first attempt refused"); return }
        throttle.succeeded(good)
        if case .failure = throttle.begin(account: "a@example.com", address: "192.0.2.1") { Issue.record("still locked after a success") }
    }

    @Test func anAddressCountsAttemptsButNotSuccesses() {
        let clock = ManualClock()
        let throttle = LoginThrottle(policy: .init(failuresPerAccount: 100, failuresPerAddress: 2, window: .seconds(60)), now: { clock.now })
        for index in 0..<5 {
            guard case .success(let attempt) = throttle.begin(account: "user\(index)@example.com", address: "192.0.2.1") else {
                Issue.record("a successful user behind a shared address was locked out"); return
            }
            throttle.succeeded(attempt)
        }
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
        // Proxies that write ports or brackets; an entry we cannot read stops the walk at the peer.
        func chain(_ value: String) -> HTTPFields { [HTTPField.Name("X-Forwarded-For")!: value] }
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: chain("9.9.9.9, 203.0.113.5:41234")) == "203.0.113.5")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: chain("9.9.9.9, [2001:db8::1]:443")) == "2001:db8::1")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: chain("9.9.9.9, [2001:db8::1]")) == "2001:db8::1")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: chain("9.9.9.9, unknown")) == "10.9.9.9")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: chain("9.9.9.9, 10.1.1.1:80, 10.2.2.2")) == "9.9.9.9")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: chain("2001:db8::7")) == "2001:db8::7")
        #expect(trust.clientAddress(peer: "10.9.9.9", headers: chain("1.2.3.4:x")) == "10.9.9.9")
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("example.com") == nil)
        #expect(IPNetwork("192.0.2.0/25")!.contains("192.0.2.127"))
        #expect(!IPNetwork("192.0.2.0/25")!.contains("192.0.2.128"))
    }
}

import Foundation
import Synchronization

/// Counts failed logins per account and per client address, and
/// refuses further attempts on a key that failed `limit` times within `window` until the oldest
/// of those failures is `window` old. Per replica: a client spreading attempts over N replicas
/// gets N times the budget, which still bounds guessing (documented in docs/security.md).
/// An account is the caller's key, compared as given: the login resolves it to the user first
/// (`Store.loginAccount`), because any folding done here (Swift's `lowercased()`) would disagree
/// with the database's lookup and let another spelling of a locked account through.
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable {
        public var failuresPerAccount: Int
        public var failuresPerAddress: Int
        public var window: Duration

        /// An address gets more than an account: several users may share one (a NAT, an office).
        public init(failuresPerAccount: Int = 10, failuresPerAddress: Int = 50, window: Duration = .seconds(300)) {
            self.failuresPerAccount = failuresPerAccount
            self.failuresPerAddress = failuresPerAddress
            self.window = window
        }
    }

    private enum Key: Hashable {
        case account(String)
        case address(String)
    }

    public let policy: Policy
    private let now: @Sendable () -> ContinuousClock.Instant
    private let failures = Mutex<[Key: [ContinuousClock.Instant]]>([:])
    /// Past this many keys, expired ones are swept on the next failure, so memory stays bounded by
    /// the attempts of one window.
    private let sweepAbove = 10_000

    /// `now` is injectable so that tests move time instead of waiting for it.
    public init(policy: Policy = Policy(), now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.policy = policy
        self.now = now
    }

    /// How long until an attempt for `account` from `address` may be tried; nil if it may now.
    public func retryAfter(account: String, address: String?) -> Duration? {
        let now = now()
        return failures.withLock { table in
            var keys: [(Key, Int)] = [(.account(account), policy.failuresPerAccount)]
            if let address { keys.append((.address(address), policy.failuresPerAddress)) }
            return keys.compactMap { key, limit in wait(for: &table, key, limit: limit, now: now) }.max()
        }
    }

    /// How long until `address` may try again, whatever the account; nil if it may now. A login
    /// asks this before it looks the account up, so a locked-out address costs no query.
    public func retryAfter(address: String) -> Duration? {
        let now = now()
        return failures.withLock { table in wait(for: &table, .address(address), limit: policy.failuresPerAddress, now: now) }
    }

    public func recordFailure(account: String, address: String?) {
        let now = now()
        failures.withLock { table in
            if table.count > sweepAbove {
                table = table.compactMapValues { times in
                    let kept = times.filter { now - $0 < policy.window }
                    return kept.isEmpty ? nil : kept
                }
            }
            table[.account(account), default: []].append(now)
            if let address { table[.address(address), default: []].append(now) }
        }
    }

    /// One login attempt in flight, counted as a failure until it proves otherwise.
    public struct Attempt: Sendable {
        let account: String
        let address: String?
        let at: ContinuousClock.Instant
    }

    /// Checks and counts an attempt in one step: attempts that arrive together (while the first
    /// ones are still hashing) cannot all pass a check that none of them has been counted in yet.
    /// Returns how long to wait instead, if the account or address is over its limit.
    public func begin(account: String, address: String?) -> Result<Attempt, RetryLater> {
        let now = now()
        return failures.withLock { table in
            var keys: [(Key, Int)] = [(.account(account), policy.failuresPerAccount)]
            if let address { keys.append((.address(address), policy.failuresPerAddress)) }
            if let wait = keys.compactMap({ key, limit in self.wait(for: &table, key, limit: limit, now: now) }).max() {
                return .failure(RetryLater(after: wait))
            }
            for (key, _) in keys { table[key, default: []].append(now) }
            return .success(Attempt(account: account, address: address, at: now))
        }
    }

    public struct RetryLater: Error, Sendable {
        public let after: Duration
    }

    /// The attempt had the right password: the account's failures are cleared, and the attempt no
    /// longer counts against its address.
    public func succeeded(_ attempt: Attempt) {
        failures.withLock { table in
            table.removeValue(forKey: .account(attempt.account))
            if let address = attempt.address, var times = table[.address(address)], let index = times.firstIndex(of: attempt.at) {
                times.remove(at: index)
                table[.address(address)] = times.isEmpty ? nil : times
            }
        }
    }

    /// A correct password clears the account's failures (not the address's: one good account
    /// must not launder guesses at others).
    public func recordSuccess(account: String) {
        _ = failures.withLock { $0.removeValue(forKey: .account(account)) }
    }

    private func wait(for table: inout [Key: [ContinuousClock.Instant]], _ key: Key, limit: Int, now: ContinuousClock.Instant) -> Duration? {
        guard var times = table[key] else { return nil }
        times.removeAll { now - $0 >= policy.window }
        table[key] = times.isEmpty ? nil : times
        guard times.count >= limit else { return nil }
        // Free again when enough of the failures have aged out of the window.
        return times[times.count - limit] + policy.window - now
    }
}

extension Duration {
    /// Whole seconds, rounded up, at least 1: what `Retry-After` carries.
    var retryAfterSeconds: Int64 {
        let (seconds, attoseconds) = components
        return max(1, seconds + (attoseconds > 0 ? 1 : 0))
    }
}

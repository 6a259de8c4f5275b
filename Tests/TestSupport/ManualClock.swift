/// A clock that moves only when the test moves it: a rule that depends on time is tested by
/// advancing the clock, never by waiting for real time to pass. Tasks sleeping on it wake when an
/// advance reaches their deadline.
///
/// Its instants are `ContinuousClock`'s, so it also stands in for code that takes a
/// `() -> ContinuousClock.Instant`.
public final class ManualClock: Clock, Sendable {
    public typealias Instant = ContinuousClock.Instant

    private struct State: Sendable {
        var now: Instant
        /// Deadlines of the tasks sleeping now, by sleep.
        var deadlines: [UInt64: Instant] = [:]
        var nextID: UInt64 = 0
        var sleepers: Int { deadlines.values.count { $0 > now } }
    }

    private let state: Watched<State>

    public init() {
        state = Watched(State(now: ContinuousClock.now))
    }

    public var now: Instant { state.value.now }
    public var minimumResolution: Swift.Duration { .zero }

    public func advance(_ duration: Swift.Duration) {
        state.update { $0.now += duration }
    }

    public func sleep(until deadline: Instant, tolerance: Swift.Duration? = nil) async throws {
        var id: UInt64 = 0
        state.update { state in
            state.nextID += 1
            id = state.nextID
            state.deadlines[id] = deadline
        }
        defer { state.update { _ = $0.deadlines.removeValue(forKey: id) } }
        try await state.wait { $0.now >= deadline }
    }

    /// Tasks asleep on this clock whose deadline has not come.
    public var sleepers: Int { state.value.sleepers }

    /// Returns once at least `count` tasks sleep on this clock with their deadline still ahead:
    /// the code under test has done its work and reached its next wait.
    public func waitForSleepers(_ count: Int = 1) async throws {
        try await state.wait { $0.sleepers >= count }
    }
}

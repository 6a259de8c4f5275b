import Synchronization
import Testing
@testable import Provisioning

/// How many bodies run now, and the most that ever did.
private final class Occupancy: Sendable {
    let state = Mutex((now: 0, most: 0))
    func withLock<T>(_ body: (inout (now: Int, most: Int)) -> T) -> T { state.withLock { body(&$0) } }
}

@Suite struct ConcurrencyLimitTests {
    @Test func neverMoreThanTheLimitRunAtOnce() async throws {
        let limit = ConcurrencyLimit(3)
        let running = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await limit.run {
                        running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                        await Task.yield()
                        running.withLock { $0.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(running.withLock { $0.most } <= 3)
        #expect(running.withLock { $0.now } == 0)
    }

    @Test func aCancelledWaiterLeavesAndTheSlotsStayUsable() async throws {
        let limit = ConcurrencyLimit(1)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let (entered, enter) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await limit.run {
                enter.yield()
                for await _ in gate { break }
            }
        }
        for await _ in entered { break }
        let waiter = Task { try await limit.run { 1 } }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        open.yield()
        try await holder.value
        #expect(try await limit.run { 2 } == 2)
    }
}

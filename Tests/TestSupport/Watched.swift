import Synchronization

/// A value that tasks wait on: `wait(until:)` returns once the value satisfies a condition, woken
/// by every `update`, never by polling. Tests use it to wait for an event (a count reached, a
/// state entered) instead of sleeping past it.
public final class Watched<Value: Sendable>: Sendable {
    private struct State: Sendable {
        var value: Value
        var watchers: [UInt64: AsyncStream<Void>.Continuation] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(_ value: Value) {
        state = Mutex(State(value: value))
    }

    public var value: Value { state.withLock { $0.value } }

    /// Changes the value and wakes every waiter to look at it.
    public func update(_ change: (inout Value) -> Void) {
        let watchers = state.withLock { state in
            change(&state.value)
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.yield() }
    }

    /// The first value that satisfies `condition`, the current one included. Throws
    /// `CancellationError` if the task is cancelled first.
    @discardableResult
    public func wait(until condition: (Value) -> Bool) async throws -> Value {
        // A change between registering and looking is not lost: the stream keeps one wake-up.
        let (changes, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.nextID += 1
            state.watchers[state.nextID] = continuation
            return state.nextID
        }
        defer { state.withLock { _ = $0.watchers.removeValue(forKey: id) } }
        var wakeUps = changes.makeAsyncIterator()
        while true {
            let current = value
            if condition(current) { return current }
            guard await wakeUps.next() != nil else { throw CancellationError() }
        }
    }
}

import DequeModule
import Synchronization

/// At most `limit` bodies at a time; the rest wait in order. Bounds how many connections of the
/// database pool the job queue may hold at once, however many daemons (or waiter groups) wake
/// together, so that REST requests always find a connection.
final class ConcurrencyLimit: Sendable {
    private struct State {
        var running = 0
        var waiting = Deque<(id: UInt64, continuation: CheckedContinuation<Void, any Error>)>()
        var nextID: UInt64 = 0
    }

    let limit: Int
    private let state = Mutex(State())

    init(_ limit: Int) {
        self.limit = max(1, limit)
    }

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        let id: UInt64? = state.withLock { state in
            if state.running < limit {
                state.running += 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiting.append((id, continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func release() {
        // The slot passes straight to the next waiter, or is given back.
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if let next = state.waiting.popFirst() { return next.continuation }
            state.running -= 1
            return nil
        }
        next?.resume()
    }
}

import Foundation
import ProvisionerProtocol
import Synchronization
import TestSupport
import Testing
@testable import ProvisionerDaemon

/// The daemon's link to its coordinator, with a `send` the test holds up: what is written, in
/// what order, whatever the tasks that write race to do.
@Suite struct CoordinatorLinkTests {
    /// Records what is written; holds the acquire's write until `release()`.
    final class Wire: Sendable {
        private let written = Mutex<[DaemonMessage]>([])
        private let held = Mutex<(started: Bool, waiter: CheckedContinuation<Void, Never>?, released: Bool)>((false, nil, false))

        var messages: [DaemonMessage] { written.withLock { $0 } }
        var acquireStarted: Bool { held.withLock { $0.started } }

        func send(_ text: String) async throws {
            let message = try ProvisionerCoding.decodeDaemonMessage(text)
            if case .acquire = message {
                await withCheckedContinuation { continuation in
                    let go = held.withLock { state -> Bool in
                        state.started = true
                        if state.released { return true }
                        state.waiter = continuation
                        return false
                    }
                    if go { continuation.resume() }
                }
            }
            written.withLock { $0.append(message) }
        }

        func release() {
            held.withLock { state in
                state.released = true
                return state.waiter.take()
            }?.resume()
        }
    }

    /// SIGTERM's `cancel_acquire` once went out from a task of its own and could reach the
    /// coordinator before its acquire, which then ignored it (no such acquire yet) and left the
    /// daemon waiting for a job it had been told to refuse.
    @Test func aWithdrawalIsWrittenOnlyAfterItsAcquire() async throws {
        let link = CoordinatorLink()
        let wire = Wire()
        await link.attach { try await wire.send($0) }
        let acquiring = Task { try await link.acquire() }
        try await eventually("the acquire's write has started") { wire.acquireStarted }
        #expect(await link.stop() == .withdrawAcquire(requestID: 1))
        // The acquire is still being written: the withdrawal waits for it.
        #expect(wire.messages.isEmpty)
        wire.release()
        try await eventually("the acquire, then its withdrawal, are written") { wire.messages.count == 2 }
        #expect(wire.messages == [.acquire(id: 1), .cancelAcquire(id: 1)])
        await link.deliver(.acquireCanceled(id: 1))
        #expect(try await acquiring.value == .acquireCanceled(id: 1))
        // Stopped: no further acquire is written.
        await #expect(throws: CoordinatorLink.Stopped.self) { try await link.acquire() }
        #expect(wire.messages.count == 2)
    }

    @Test func aWithdrawalOfAnAcquireAlreadyWrittenGoesAtOnce() async throws {
        let link = CoordinatorLink()
        let wire = Wire()
        wire.release()
        await link.attach { try await wire.send($0) }
        let acquiring = Task { try await link.acquire() }
        try await eventually("the acquire is written") { wire.messages.count == 1 }
        // Whether the link has heard yet that the write returned or not, one withdrawal follows it.
        #expect(await link.stop() == .withdrawAcquire(requestID: 1))
        try await eventually("the withdrawal is written") { wire.messages.count == 2 }
        #expect(wire.messages == [.acquire(id: 1), .cancelAcquire(id: 1)])
        await link.deliver(.acquireCanceled(id: 1))
        _ = try await acquiring.value
    }
}

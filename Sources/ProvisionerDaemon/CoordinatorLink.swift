import Foundation
import ProvisionerProtocol

/// The daemon's side of the protocol, across connections: a request waits until a connection is
/// up, and if the connection drops before its answer, it is sent again on the next one (after the
/// job has been resumed there). Replies are matched by request id.
actor CoordinatorLink {
    struct Disconnected: Error {}

    private var send: (@Sendable (String) async throws -> Void)?
    private var generation = 0
    private var nextID: Int64 = 0
    private var pending: [Int64: CheckedContinuation<CoordinatorMessage, any Error>] = [:]
    private var connectedWaiters: [CheckedContinuation<Void, Never>] = []
    /// Jobs the coordinator said are canceled.
    private var canceledJobs: Set<UUID> = []

    func isCanceled(_ jobID: UUID) -> Bool { canceledJobs.contains(jobID) }
    func markCanceled(_ jobID: UUID) { canceledJobs.insert(jobID) }
    func forget(_ jobID: UUID) { canceledJobs.remove(jobID) }

    func attach(_ send: @escaping @Sendable (String) async throws -> Void) {
        self.send = send
        generation += 1
        for waiter in connectedWaiters { waiter.resume() }
        connectedWaiters = []
    }

    func detach() {
        send = nil
        for (_, continuation) in pending { continuation.resume(throwing: Disconnected()) }
        pending = [:]
    }


    /// Sends a request on the current connection (waiting for one) and returns its answer.
    /// Throws `Disconnected` if the connection drops first.
    func request(_ make: @Sendable (Int64) -> DaemonMessage) async throws -> CoordinatorMessage {
        while send == nil {
            await withCheckedContinuation { connectedWaiters.append($0) }
        }
        nextID += 1
        let id = nextID
        let text = ProvisionerCoding.encode(make(id))
        let send = self.send!
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            Task {
                do { try await send(text) } catch { self.fail(id) }
            }
        }
    }

    /// Sends on `send` now, whether or not the link is attached: used for `resume`, which must go
    /// first on a new connection.
    func requestDirect(send: @escaping @Sendable (String) async throws -> Void, _ make: @Sendable (Int64) -> DaemonMessage) async throws -> CoordinatorMessage {
        nextID += 1
        let id = nextID
        let text = ProvisionerCoding.encode(make(id))
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            Task {
                do { try await send(text) } catch { self.fail(id) }
            }
        }
    }

    private func fail(_ id: Int64) {
        pending.removeValue(forKey: id)?.resume(throwing: Disconnected())
    }

    /// Routes a message from the coordinator to the request it answers.
    func deliver(_ message: CoordinatorMessage) {
        switch message {
        case .cancel(let jobID):
            canceledJobs.insert(jobID)
        case .job(let id, _), .acquireCanceled(let id), .updated(let id, _), .quota(let id, _, _, _), .done(let id):
            pending.removeValue(forKey: id)?.resume(returning: message)
        case .error(let id, _, _):
            if let id { pending.removeValue(forKey: id)?.resume(returning: message) }
        case .welcome:
            break
        }
    }
}

import Foundation
import ProvisionerProtocol

/// The daemon's side of the protocol, across connections: a request waits until a connection is
/// up, and if the connection drops before its answer, it is sent again on the next one (after the
/// job has been resumed there). Replies are matched by request id.
///
/// It also keeps what the shutdown rule (`DaemonShutdown`) looks at — the acquire on the wire and
/// the job in hand — so that `stop()` decides in the same serial order as acquires are sent and
/// answered: no acquire can slip out unseen between the decision and its effect.
actor CoordinatorLink {
    struct Disconnected: Error {}
    /// `acquire` after `stop()`: the daemon is shutting down and takes no more work.
    struct Stopped: Error {}

    private var send: (@Sendable (String) async throws -> Void)?
    private var nextID: Int64 = 0
    private var pending: [Int64: CheckedContinuation<CoordinatorMessage, any Error>] = [:]
    private var connectedWaiters: [CheckedContinuation<Void, Never>] = []
    /// Jobs the coordinator said are canceled.
    private var canceledJobs: Set<UUID> = []
    private var stopped = false
    /// The acquire sent on the current connection and not answered yet.
    private var acquireOnTheWire: Int64?
    /// `acquireOnTheWire` once its send has returned: a `cancel_acquire` may only follow it then,
    /// or it could reach the coordinator first (each send runs in a task of its own), be ignored
    /// there as naming no acquire, and leave the acquire waiting for a job after SIGTERM.
    private var acquireWritten: Int64?
    /// The job the last acquire handed over, until its runner has ended (`forget`).
    private var jobInHand: UUID?

    func isCanceled(_ jobID: UUID) -> Bool { canceledJobs.contains(jobID) }
    func markCanceled(_ jobID: UUID) { canceledJobs.insert(jobID) }

    /// The job's runner has ended.
    func forget(_ jobID: UUID) {
        canceledJobs.remove(jobID)
        if jobInHand == jobID { jobInHand = nil }
    }

    /// Applies the shutdown rule now, in whatever state the daemon is, and says which step it took.
    /// Later acquires throw `Stopped`; one waiting for a connection throws it at once.
    func stop() -> DaemonShutdown.Step {
        stopped = true
        let step = DaemonShutdown.step(jobInHand: jobInHand, acquireOnTheWire: acquireOnTheWire)
        switch step {
        case .exitNow:
            // The acquire waiting for a connection (connecting, backing off) wakes and throws.
            // Requests of a job would wait again, but there is no job.
            wakeConnectedWaiters()
        case .withdrawAcquire(let id):
            // Not yet written: `written(_:)` sends the withdrawal once the acquire is out.
            if acquireWritten == id { withdraw(id) }
        case .interruptJob:
            // The daemon interrupts the job's runner; the job's own requests (its last logs, its
            // failure) go on as before, and the work loop stops once it has ended.
            break
        }
        return step
    }

    func attach(_ send: @escaping @Sendable (String) async throws -> Void) {
        self.send = send
        wakeConnectedWaiters()
    }

    /// Sends `cancel_acquire` for `id` on the current connection. If this send fails, the
    /// connection is gone: `detach` answers the acquire.
    private func withdraw(_ id: Int64) {
        guard let send else { return }
        let text = ProvisionerCoding.encode(DaemonMessage.cancelAcquire(id: id))
        Task { try? await send(text) }
    }

    /// The acquire `id` has been written; if the daemon was told to stop meanwhile, withdraw it now.
    private func written(_ id: Int64) {
        guard acquireOnTheWire == id else { return }
        acquireWritten = id
        if stopped { withdraw(id) }
    }

    /// The connection is gone: requests waiting for an answer fail with `Disconnected` (a job's
    /// are sent again on the next connection). Called by the connection's reader as it ends, and
    /// again by `connectionLoop` once `serve` has returned; the second call finds nothing to do.
    func detach() {
        send = nil
        acquireOnTheWire = nil
        acquireWritten = nil
        for (_, continuation) in pending { continuation.resume(throwing: Disconnected()) }
        pending = [:]
    }

    private func wakeConnectedWaiters() {
        for waiter in connectedWaiters { waiter.resume() }
        connectedWaiters = []
    }

    /// Asks for a job on the current connection (waiting for one) and returns the answer: a
    /// job (which is then the job in hand), `acquire_canceled`, or an error. Throws `Stopped`
    /// once `stop()` has been called, at once if it is still waiting for a connection, and
    /// `Disconnected` if the connection drops first.
    func acquire() async throws -> CoordinatorMessage {
        while send == nil && !stopped {
            await withCheckedContinuation { connectedWaiters.append($0) }
        }
        guard !stopped, let send else { throw Stopped() }
        nextID += 1
        let id = nextID
        acquireOnTheWire = id
        let text = ProvisionerCoding.encode(DaemonMessage.acquire(id: id))
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            Task {
                do {
                    try await send(text)
                    await self.written(id)
                } catch {
                    await self.fail(id)
                }
            }
        }
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
        if acquireOnTheWire == id { acquireOnTheWire = nil }
        pending.removeValue(forKey: id)?.resume(throwing: Disconnected())
    }

    /// Routes a message from the coordinator to the request it answers.
    func deliver(_ message: CoordinatorMessage) {
        switch message {
        case .cancel(let jobID):
            canceledJobs.insert(jobID)
        case .job(let id, let job):
            // The answer to the acquire: from here on the daemon holds a job (a resume's answer
            // is the job it holds already).
            if acquireOnTheWire == id, pending[id] != nil {
                acquireOnTheWire = nil
                jobInHand = job.lease.jobID
            }
            pending.removeValue(forKey: id)?.resume(returning: message)
        case .acquireCanceled(let id), .updated(let id, _), .quota(let id, _, _, _), .done(let id):
            if acquireOnTheWire == id { acquireOnTheWire = nil }
            pending.removeValue(forKey: id)?.resume(returning: message)
        case .error(let id, _, _):
            if let id {
                if acquireOnTheWire == id { acquireOnTheWire = nil }
                pending.removeValue(forKey: id)?.resume(returning: message)
            }
        case .welcome:
            break
        }
    }
}

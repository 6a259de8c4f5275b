import Foundation

/// The one shutdown rule of a daemon told to stop (SIGTERM or SIGINT): whatever it is doing —
/// connecting, waiting to reconnect, connected and idle, or running a job — a daemon with no job
/// exits at once, and a daemon with a job finishes it (reconnecting as often as it takes to
/// report it), then exits. It acquires nothing more either way.
///
/// The only state in between is an acquire already sent on a live connection: the coordinator
/// may be handing over a job at that very moment, so the acquire is withdrawn (`cancel_acquire`)
/// and the answer decides: `acquire_canceled` (or the connection dropping) means no job, exit;
/// a job means a job in hand, finish it. Exiting without asking would leave a job leased to a
/// daemon that is gone, failed only when the orphan grace runs out.
public enum DaemonShutdown {
    public enum Step: Sendable, Equatable {
        /// Nothing is owed to anyone: stop waiting for a connection or a job, and return.
        case exitNow
        /// Withdraw the acquire with this request id; its answer decides.
        case withdrawAcquire(requestID: Int64)
        /// Finish this job and report it, then exit.
        case finishJob(UUID)
    }

    /// - Parameters:
    ///   - jobInHand: the job an acquire handed over whose runner has not ended (nil: none).
    ///   - acquireOnTheWire: the acquire sent on the current connection and not answered yet.
    ///     The daemon never acquires while it holds a job, so both are never set together; if
    ///     they were, the job would still be finished.
    public static func step(jobInHand: UUID?, acquireOnTheWire: Int64?) -> Step {
        if let jobInHand { return .finishJob(jobInHand) }
        if let acquireOnTheWire { return .withdrawAcquire(requestID: acquireOnTheWire) }
        return .exitNow
    }
}

import Foundation

/// The one shutdown rule of a daemon told to stop (SIGTERM or SIGINT): whatever it is doing —
/// connecting, waiting to reconnect, connected and idle, or running a job — a daemon with no job
/// exits at once, and a daemon with a job interrupts it as a cancel would (Terraform gets SIGINT,
/// the cancel grace, then SIGKILL; the state it wrote is kept), reports it failed (reconnecting
/// as often as it takes), then exits. It acquires nothing more either way. A job is not run to
/// its end: an apply can take half an hour, longer than any supervisor waits between SIGTERM and
/// SIGKILL, and a SIGKILL mid-apply would lose the state that the interrupt keeps.
///
/// The only state in between is an acquire already sent on a live connection: the coordinator
/// may be handing over a job at that very moment, so the acquire is withdrawn (`cancel_acquire`)
/// and the answer decides: `acquire_canceled` (or the connection dropping) means no job, exit;
/// a job means a job in hand, interrupt it. Exiting without asking would leave a job leased to a
/// daemon that is gone, failed only when the orphan grace runs out.
public enum DaemonShutdown {
    public enum Step: Sendable, Equatable {
        /// Nothing is owed to anyone: stop waiting for a connection or a job, and return.
        case exitNow
        /// Withdraw the acquire with this request id; its answer decides.
        case withdrawAcquire(requestID: Int64)
        /// Interrupt this job, report it failed, then exit.
        case interruptJob(UUID)
    }

    /// - Parameters:
    ///   - jobInHand: the job an acquire handed over whose runner has not ended (nil: none).
    ///   - acquireOnTheWire: the acquire sent on the current connection and not answered yet.
    ///     The daemon never acquires while it holds a job, so both are never set together; if
    ///     they were, the job would still be interrupted.
    public static func step(jobInHand: UUID?, acquireOnTheWire: Int64?) -> Step {
        if let jobInHand { return .interruptJob(jobInHand) }
        if let acquireOnTheWire { return .withdrawAcquire(requestID: acquireOnTheWire) }
        return .exitNow
    }
}

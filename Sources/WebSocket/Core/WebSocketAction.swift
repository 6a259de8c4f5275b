/// The timers a transport adapter runs for one connection. The adapter holds the scheduled
/// tasks; the state machine says which to start and cancel, and what a firing means
/// (`timerFired(_:)`).
public enum WebSocketTimer: Sendable, Hashable, CaseIterable {
    /// The next keepalive ping is due (`WebSocketConfiguration.pingInterval`).
    case ping
    /// A keepalive ping went out and nothing at all has come from the peer since
    /// (`pingTimeout`).
    case pingTimeout
    /// Our close frame is out and the peer has not closed yet (`closeTimeout`).
    case closeTimeout
    /// Our close frame is owed and the application has not caught up to let it go (`closeTimeout`).
    case replyTimeout
}

/// What the transport adapter must do next, as answered by the state machine's lifecycle
/// methods (`transportActive()`, `readingEnded()`, `close(code:reason:)`, `timerFired(_:)`, …).
/// The adapter performs them in order and decides nothing itself: the close policy (when to
/// close the transport, which timer runs, when and how the end is reported) lives in the core,
/// where it is testable without a socket.
public enum WebSocketAction: Sendable, Hashable {
    /// Schedule `timer` to fire after the delay, then hand the firing to `timerFired(_:)`.
    case startTimer(WebSocketTimer, Duration)
    /// Cancel `timer` if it is scheduled.
    case cancelTimer(WebSocketTimer)
    /// Tell the application that no message follows the ones already delivered. When it has
    /// consumed them, `applicationCaughtUp()` lets our owed close frame go.
    case endOfMessages
    /// Write and flush the queued output.
    case flush
    /// Write and flush the queued output, and close the transport once it is written: the
    /// connection is over for us, and closing earlier would lose our close frame.
    case flushThenCloseTransport
    /// Close the transport now, whatever is still queued.
    case closeTransport
    /// The transport is gone: fail the writes not yet flushed and refuse later sends.
    case discardPendingWrites
    /// The connection ended with this status: tell the application and the observer.
    case reportClose(WebSocketCloseStatus)
}

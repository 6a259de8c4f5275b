/// What the state machine remembers about the connection's lifecycle beyond the protocol state:
/// which timers run, whether the transport is closing or closed, and how the connection ended.
/// The timer flags mirror what the adapter holds (a timeout marked running here is a task
/// scheduled there), so the adapter needs no flags of its own.
struct WebSocketCloseState: Sendable, Hashable {
    /// The transport became active once; the keepalive starts then, and only then.
    var isStarted = false
    /// A keepalive ping is unanswered and its timeout runs. It stays set after the timeout
    /// fired: the ping is still unanswered, and no second timeout is started for it.
    var isAwaitingPeer = false
    /// The close timeout was started. It counts from our first close frame and is never
    /// restarted, even after it fired (a TLS transport may take a while to close).
    var isCloseTimeoutStarted = false
    /// The owed close frame waits for the application, at most the close timeout.
    var isReplyTimeoutRunning = false
    /// The transport close was asked for after the output (`flushThenCloseTransport`): asking
    /// twice would flush again behind a close already under way.
    var isClosingTransport = false
    /// The transport is gone: nothing more is written.
    var isTransportClosed = false
    /// The end was reported; the adapter may tell us the transport closed more than once
    /// (inactive, then removed).
    var isReported = false
    /// How the connection ended so far: the peer's close frame, our failure, or the keepalive.
    var status: WebSocketCloseStatus?
}

/// The close policy, as answers to what happened on the transport (python-websockets' protocol
/// object is the model: it owns OPEN/CLOSING/CLOSED and says what to do next, the I/O layer only
/// does it). Every method is pure with respect to I/O: it updates the machine, maybe queues a
/// frame, and returns the actions for the adapter to perform in order.
///
/// ```
/// perform(machine.transportActive())
/// machine.receive(bytes); perform(machine.peerIsAlive())
/// while let event = machine.nextEvent() {
///     if case .message(let m) = event, machine.isDeliveringMessages { deliver(m) }
///     if case .close = event { perform(machine.readingEnded()) }     // .failure too
/// }
/// perform(try machine.close(code: .normalClosure, reason: ""))        // the application's close
/// perform(machine.applicationCaughtUp())                               // it reached the end
/// perform(machine.timerFired(timer))
/// perform(machine.transportClosed())
/// ```
extension WebSocketStateMachine {
    // MARK: - Queries

    /// How the connection ended so far: nil until the peer's close frame, a failure or the
    /// keepalive timeout. A connection whose transport closes while it is nil ended as 1006.
    public var closeStatus: WebSocketCloseStatus? { closing.status }

    /// Whether messages still reach the application. Those arriving after our close frame are
    /// dropped: the application said it is done, and delivering them would mean reading
    /// without backpressure until the peer answers.
    public var isDeliveringMessages: Bool { sentClose == nil }

    /// Whether to read on whatever the application's demand: once our close is out, the peer's
    /// close frame must be seen, and the messages before it are dropped anyway.
    public var readsRegardlessOfDemand: Bool { state == .closeSent }

    /// Whether senders are refused: our close frame is queued, or the transport is gone.
    public var isSendingOver: Bool { sentClose != nil || closing.isTransportClosed }

    /// Whether the transport is gone (`transportClosed()`): later writes fail at once.
    public var isTransportClosed: Bool { closing.isTransportClosed }

    // MARK: - Transport events

    /// The transport is up (reported once or more): the keepalive starts.
    public mutating func transportActive() -> [WebSocketAction] {
        guard !closing.isStarted else { return [] }
        closing.isStarted = true
        guard let interval = configuration.pingInterval else { return [] }
        return [.startTimer(.ping, interval)]
    }

    /// Bytes arrived (call it for every read, before or after `receive`): any bytes at all show
    /// the peer is alive, so an unanswered keepalive is answered.
    public mutating func peerIsAlive() -> [WebSocketAction] {
        guard closing.isAwaitingPeer else { return [] }
        closing.isAwaitingPeer = false
        return [.cancelTimer(.pingTimeout)]
    }

    /// After a `.close` or `.failure` event: nothing more is read. The application is told;
    /// our close frame, if owed, waits for it (or for the reply timeout), so that answers to
    /// the messages before the end still go out first. If ours was already out, the exchange
    /// is complete.
    public mutating func readingEnded() -> [WebSocketAction] {
        guard isReadingFinished else { return [] }
        if state == .replyOwed {
            closing.isReplyTimeoutRunning = true
            return [.endOfMessages, .startTimer(.replyTimeout, configuration.closeTimeout)]
        }
        var actions: [WebSocketAction] = [.endOfMessages]
        actions += closeExchanged()
        return actions
    }

    /// The peer will send nothing more (TCP half-closure): close, or the socket would linger
    /// half-open. The end is reported as 1006 unless a close frame came first.
    public mutating func receivedEOF() -> [WebSocketAction] {
        [.closeTransport]
    }

    /// The transport failed: close it. The application learns of it through the end of the
    /// messages and the close status (1006 unless a close frame came first).
    public mutating func transportFailed() -> [WebSocketAction] {
        [.closeTransport]
    }

    /// The transport is closed (reported once or more). Every timer stops, pending writes fail,
    /// and the end is reported, once: the status so far, or 1006 (no close frame).
    public mutating func transportClosed() -> [WebSocketAction] {
        closing.isTransportClosed = true
        closing.isAwaitingPeer = false
        closing.isCloseTimeoutStarted = false
        closing.isReplyTimeoutRunning = false
        var actions = WebSocketTimer.allCases.map { WebSocketAction.cancelTimer($0) }
        actions.append(.discardPendingWrites)
        if !closing.isReported {
            closing.isReported = true
            actions.append(.reportClose(closing.status ?? WebSocketCloseStatus(code: .abnormalClosure)))
        }
        return actions
    }

    // MARK: - Application events

    /// The application's close: queues our close frame (`sendClose`, so the owed reply if one
    /// is owed) and says what follows. A close that starts the handshake waits for the peer's,
    /// at most the close timeout; one that answers the peer completes it. The caller flushes.
    public mutating func close(code: WebSocketCloseCode?, reason: String) throws(WebSocketSendError) -> [WebSocketAction] {
        let wasOwingReply = state == .replyOwed
        try sendClose(code: code, reason: reason)
        return wasOwingReply ? closeExchanged() : startCloseTimeout()
    }

    /// The application consumed every message before `.endOfMessages`, so its answers are
    /// queued: the owed close frame goes out after them. Does nothing unless one is owed.
    public mutating func applicationCaughtUp() -> [WebSocketAction] {
        guard state == .replyOwed else { return [] }
        replyToClose()
        return closeExchanged()
    }

    /// Graceful shutdown: "going away", and the close handshake ends the connection. If a
    /// reply is owed it goes out instead; if our close is already out, nothing changes.
    public mutating func quiesce() -> [WebSocketAction] {
        switch state {
        case .open:
            // A valid code and a short reason: this cannot throw.
            try? sendClose(code: .goingAway, reason: "server shutting down")
            var actions: [WebSocketAction] = [.flush]
            actions += startCloseTimeout()
            return actions
        case .replyOwed:
            return applicationCaughtUp()
        case .closeSent, .closed:
            return []
        }
    }

    // MARK: - Timers

    /// What a timer's firing means.
    public mutating func timerFired(_ timer: WebSocketTimer) -> [WebSocketAction] {
        switch timer {
        case .ping:
            // A closing endpoint sends no more pings; the keepalive stops for good.
            guard state == .open else { return [] }
            // Cannot fail while open: an empty ping.
            try? sendPing()
            var actions: [WebSocketAction] = [.flush]
            // The deadline stays that of the first unanswered ping.
            if !closing.isAwaitingPeer {
                closing.isAwaitingPeer = true
                actions.append(.startTimer(.pingTimeout, configuration.pingTimeout))
            }
            if let interval = configuration.pingInterval {
                actions.append(.startTimer(.ping, interval))
            }
            return actions
        case .pingTimeout:
            // The peer is gone or stuck: say so if we still may, and close without waiting
            // for an answer that would not come.
            let reason = "keepalive ping timeout"
            closing.status = WebSocketCloseStatus(code: .internalError, reason: reason)
            if state == .open {
                try? sendClose(code: .internalError, reason: reason)
            }
            return closeTransportAfterOutput()
        case .closeTimeout:
            // The peer never answered our close (or, for a client, the server never closed).
            return [.closeTransport]
        case .replyTimeout:
            // The application stopped reading: the owed close goes out without it.
            return applicationCaughtUp()
        }
    }

    // MARK: - Policy

    /// Both close frames have crossed, or the connection failed. The server closes the TCP
    /// connection at once (RFC 6455 §7.1.1), as does a failing endpoint; a client otherwise
    /// gives the server the close timeout to close first.
    private mutating func closeExchanged() -> [WebSocketAction] {
        var actions: [WebSocketAction] = []
        if closing.isReplyTimeoutRunning {
            closing.isReplyTimeoutRunning = false
            actions.append(.cancelTimer(.replyTimeout))
        }
        if role == .server || receivedClose == nil {
            actions += closeTransportAfterOutput()
        } else {
            actions.append(.flush)
            actions += startCloseTimeout()
        }
        return actions
    }

    private mutating func closeTransportAfterOutput() -> [WebSocketAction] {
        guard !closing.isClosingTransport else { return [] }
        closing.isClosingTransport = true
        return [.flushThenCloseTransport]
    }

    private mutating func startCloseTimeout() -> [WebSocketAction] {
        guard !closing.isCloseTimeoutStarted else { return [] }
        closing.isCloseTimeoutStarted = true
        return [.startTimer(.closeTimeout, configuration.closeTimeout)]
    }
}

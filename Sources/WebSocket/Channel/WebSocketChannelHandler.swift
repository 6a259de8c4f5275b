import NIOCore

/// What the handler passes up to the async stream: messages, then one `end` once the peer
/// closed or broke the protocol.
enum WebSocketInboundElement: Sendable {
    case message(WebSocketMessage)
    case end
}

/// Sent down the pipeline by the inbound stream when the consumer reaches `end`: every message
/// before it has been handled, so the owed close frame may go out.
struct WebSocketReplyToClose: Sendable {}

/// The NIO adapter around `WebSocketStateMachine`: bytes in, messages out; outbound frames in,
/// bytes out. It answers pings, keeps the connection alive, runs the close handshake with its
/// timeouts, and turns quiesce and half-closure into a proper end of the connection.
///
/// When the peer closes or breaks the protocol, our close frame waits until the application
/// has consumed the messages before it (or the close timeout passes), so replies to them still
/// go out first: Autobahn's strict verdicts need this, and it is what a synchronous server would do.
///
/// Messages that arrive after we sent our close frame are dropped: the application said it is
/// done, and delivering them would mean reading without backpressure until the peer answers.
final class WebSocketChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = WebSocketInboundElement
    typealias OutboundIn = WebSocketOutboundFrame
    typealias OutboundOut = ByteBuffer

    private var machine: WebSocketStateMachine
    private let configuration: WebSocketConfiguration
    private let closedPromise: EventLoopPromise<WebSocketCloseStatus>
    private let budget: WebSocketSendBudget
    private var status: WebSocketCloseStatus?
    private var pingTimer: Scheduled<Void>?
    private var pingDeadline: Scheduled<Void>?
    private var closeDeadline: Scheduled<Void>?
    private var replyDeadline: Scheduled<Void>?
    private var isActive = false
    private var isClosing = false
    private var isFinished = false
    /// Completions of frames written but not yet flushed: frames become bytes at the flush, as
    /// one batch, so a burst of small messages goes down as one buffer.
    private var unflushed: [EventLoopPromise<Void>] = []
    /// Whether a flush is already scheduled for the end of this event-loop tick.
    private var flushScheduled = false
    /// Storage swapped with the state machine's output at each flush (see `flushOutput`).
    private var spareBuffers: [ByteBuffer] = []
    private let observer: (any WebSocketObserver)?

    init(
        role: WebSocketRole,
        configuration: WebSocketConfiguration,
        closedPromise: EventLoopPromise<WebSocketCloseStatus>,
        budget: WebSocketSendBudget,
        observer: (any WebSocketObserver)? = nil
    ) {
        self.machine = WebSocketStateMachine(role: role, configuration: configuration)
        self.configuration = configuration
        self.closedPromise = closedPromise
        self.budget = budget
        self.observer = observer
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            becameActive(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context: context)
        context.fireChannelActive()
    }

    private func becameActive(context: ChannelHandlerContext) {
        guard !isActive else { return }
        isActive = true
        schedulePing(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func finish() {
        isFinished = true
        for task in [pingTimer, pingDeadline, closeDeadline, replyDeadline] {
            task?.cancel()
        }
        pingTimer = nil
        pingDeadline = nil
        closeDeadline = nil
        replyDeadline = nil
        budget.isClosed.store(true, ordering: .releasing)
        let neverFlushed = unflushed
        unflushed = []
        for promise in neverFlushed {
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        let final = status ?? WebSocketCloseStatus(code: .abnormalClosure)
        if !reportedClose {
            reportedClose = true
            observer?.closed(code: final.code.rawValue)
        }
        closedPromise.succeed(final)
    }
    /// `finish` runs for channelInactive and again for handlerRemoved: report the close once.
    private var reportedClose = false

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Any bytes at all show the peer is alive.
        pingDeadline?.cancel()
        pingDeadline = nil
        let bytes = unwrapInboundIn(data)
        observer?.transferred(bytes: bytes.readableBytes, inbound: true)
        machine.receive(bytes)
        while let event = machine.nextEvent() {
            switch event {
            case .message(let message):
                if let observer {
                    switch message {
                    case .text: observer.frame("text", inbound: true)
                    case .binary: observer.frame("binary", inbound: true)
                    }
                }
                if machine.sentClose == nil {
                    context.fireChannelRead(wrapInboundOut(.message(message)))
                }
            case .ping:
                observer?.frame("ping", inbound: true)
                flushOutput(context: context)
            case .pong:
                observer?.frame("pong", inbound: true)
            case .close(let frame):
                observer?.frame("close", inbound: true)
                status = status ?? WebSocketCloseStatus(code: frame.code ?? .noStatusReceived, reason: frame.reason)
                readingEnded(context: context)
            case .failure(let error):
                status = WebSocketCloseStatus(code: error.code, reason: error.reason)
                readingEnded(context: context)
            }
        }
    }

    /// Nothing more will be read. Tell the consumer, and owe the peer our close frame until
    /// the consumer gets there (or the close timeout passes).
    private func readingEnded(context: ChannelHandlerContext) {
        context.fireChannelRead(wrapInboundOut(.end))
        if machine.state == .replyOwed {
            replyDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.closeTimeout)) {
                self.sendOwedReply(context: context)
            }
        } else {
            // Our close was already out: the handshake (or the failure) is complete.
            afterCloseExchanged(context: context)
        }
    }

    private func sendOwedReply(context: ChannelHandlerContext) {
        guard machine.state == .replyOwed else { return }
        machine.replyToClose()
        afterCloseExchanged(context: context)
    }

    /// Both close frames have crossed, or the connection failed. The server closes the TCP
    /// connection at once (RFC 6455 §7.1.1), as does a failing endpoint; a client otherwise
    /// gives the server the close timeout to close first.
    private func afterCloseExchanged(context: ChannelHandlerContext) {
        replyDeadline?.cancel()
        replyDeadline = nil
        if machine.role == .server || machine.receivedClose == nil {
            flushOutputThenClose(context: context)
        } else {
            flushOutput(context: context)
            armCloseDeadline(context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Once our close is out, keep reading regardless of the consumer so the peer's close
        // frame is seen; the messages are dropped anyway.
        if machine.state == .closeSent {
            context.read()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: say "going away" and let the close handshake end the channel.
            startClose(context: context, code: .goingAway, reason: "server shutting down")
            return
        }
        if case ChannelEvent.inputClosed = event {
            // The peer will send nothing more; with half-closure allowed, NIO would otherwise
            // leave the socket in CLOSE-WAIT.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Transport errors end the connection; the application learns of it through the end
        // of the message stream and the close status (1006).
        context.close(promise: nil)
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        let wasOwingReply = machine.state == .replyOwed
        // The sender counted this frame against the budget; give it back once written.
        let cost = WebSocketSendBudget.cost(of: frame)
        let budget = self.budget
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { result in
            budget.unwritten.subtract(cost, ordering: .relaxed)
            switch result {
            case .success: promise?.succeed()
            case .failure(let error): promise?.fail(error)
            }
        }
        guard !isFinished else {
            // The channel went inactive and its handlers are not removed yet: nothing will flush.
            written.fail(ChannelError.ioOnClosedChannel)
            return
        }
        do {
            switch frame {
            case .message(let message):
                try machine.send(message)
            case .fragment(let opcode, let payload, let fin):
                try machine.sendFrame(opcode: opcode, payload: payload, fin: fin)
            case .ping(let payload):
                try machine.sendPing(payload)
            case .pong(let payload):
                try machine.sendPong(payload)
            case .close(let code, let reason):
                try machine.sendClose(code: code, reason: reason)
            }
        } catch {
            written.fail(error)
            return
        }
        if let observer {
            switch frame {
            case .message(.text): observer.frame("text", inbound: false)
            case .message(.binary): observer.frame("binary", inbound: false)
            case .fragment: observer.frame("fragment", inbound: false)
            case .ping: observer.frame("ping", inbound: false)
            case .pong: observer.frame("pong", inbound: false)
            case .close: observer.frame("close", inbound: false)
            }
        }
        if machine.sentClose != nil {
            budget.isClosed.store(true, ordering: .releasing)
        }
        unflushed.append(written)
        scheduleFlush(context: context)
        if case .close = frame {
            if wasOwingReply {
                afterCloseExchanged(context: context)
            } else {
                armCloseDeadline(context: context)
            }
        }
    }

    func flush(context: ChannelHandlerContext) {
        flushOutput(context: context)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is WebSocketReplyToClose {
            sendOwedReply(context: context)
            promise?.succeed()
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    // MARK: Helpers

    /// Writes every frame sent so far, as one batch, and flushes; `promise` completes once
    /// they are written.
    private func flushOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        if let promise {
            unflushed.append(promise)
        }
        if machine.sentClose != nil {
            budget.isClosed.store(true, ordering: .releasing)
        }
        let written = takeUnflushedPromises(context: context)
        // The buffers are moved out of the machine before any is written: a write that fails at
        // once runs its completions, which may send again, and must find the machine free.
        var buffers = spareBuffers
        spareBuffers = []
        machine.moveOutput(into: &buffers)
        if buffers.isEmpty {
            // Nothing new, but earlier writes may still be queued in the channel: an empty write
            // completes after them, in order, where succeeding now would not.
            if let written {
                context.write(wrapOutboundOut(ByteBuffer()), promise: written)
            }
        } else {
            if let observer { observer.transferred(bytes: buffers.reduce(0) { $0 + $1.readableBytes }, inbound: false) }
            // Writes complete in order, so the last buffer's completion stands for all.
            for index in buffers.indices {
                context.write(wrapOutboundOut(buffers[index]), promise: index == buffers.count - 1 ? written : nil)
            }
            buffers.removeAll(keepingCapacity: true)
            spareBuffers = buffers
        }
        context.flush()
    }

    /// Frames written without a flush still go out at the end of the event-loop tick, all of
    /// them together: senders on other threads write without flushing, and the frames that
    /// reach the loop in one tick share one flush (and one buffer, when small).
    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            guard !self.isFinished, self.machine.hasOutput || !self.unflushed.isEmpty else { return }
            self.flushOutput(context: context)
        }
    }

    /// One promise for every unflushed frame: the frame's own when there is one.
    private func takeUnflushedPromises(context: ChannelHandlerContext) -> EventLoopPromise<Void>? {
        guard unflushed.count > 1 else {
            defer { unflushed.removeAll(keepingCapacity: true) }
            return unflushed.first
        }
        let promises = unflushed
        unflushed.removeAll(keepingCapacity: true)
        let combined = context.eventLoop.makePromise(of: Void.self)
        combined.futureResult.assumeIsolated().whenComplete { result in
            for promise in promises {
                promise.completeWith(result)
            }
        }
        return combined
    }

    private func flushOutputThenClose(context: ChannelHandlerContext) {
        guard !isClosing else { return }
        isClosing = true
        let written = context.eventLoop.makePromise(of: Void.self)
        flushOutput(context: context, promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func startClose(context: ChannelHandlerContext, code: WebSocketCloseCode, reason: String) {
        switch machine.state {
        case .open:
            try? machine.sendClose(code: code, reason: reason)
            flushOutput(context: context)
            armCloseDeadline(context: context)
        case .replyOwed:
            sendOwedReply(context: context)
        case .closeSent, .closed:
            break
        }
    }

    private func armCloseDeadline(context: ChannelHandlerContext) {
        guard closeDeadline == nil else { return }
        closeDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.closeTimeout)) {
            context.close(promise: nil)
        }
    }

    private func schedulePing(context: ChannelHandlerContext) {
        guard let interval = configuration.pingInterval else { return }
        pingTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(interval)) {
            self.sendKeepalivePing(context: context)
        }
    }

    private func sendKeepalivePing(context: ChannelHandlerContext) {
        guard machine.state == .open else { return }
        try? machine.sendPing()
        flushOutput(context: context)
        if pingDeadline == nil {
            pingDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.pingTimeout)) {
                self.keepaliveExpired(context: context)
            }
        }
        schedulePing(context: context)
    }

    private func keepaliveExpired(context: ChannelHandlerContext) {
        status = WebSocketCloseStatus(code: .internalError, reason: "keepalive ping timeout")
        if machine.state == .open {
            try? machine.sendClose(code: .internalError, reason: "keepalive ping timeout")
        }
        flushOutputThenClose(context: context)
    }
}

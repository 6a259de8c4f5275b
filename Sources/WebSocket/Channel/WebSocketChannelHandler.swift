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
/// bytes out. It does the I/O and nothing else: every close decision (which timer runs, when
/// our close frame goes out, when the transport closes, how the end is reported) is the state
/// machine's answer, a list of `WebSocketAction`s this handler performs in order.
///
/// When the peer closes or breaks the protocol, our close frame waits until the application
/// has consumed the messages before it (or the close timeout passes), so replies to them still
/// go out first: Autobahn's strict verdicts need this, and it is what a synchronous server would do.
final class WebSocketChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = WebSocketInboundElement
    typealias OutboundIn = WebSocketOutboundFrame
    typealias OutboundOut = ByteBuffer

    private var machine: WebSocketStateMachine
    private let closedPromise: EventLoopPromise<WebSocketCloseStatus>
    private let budget: WebSocketSendBudget
    /// The tasks behind the timers the machine started and has not cancelled.
    private var timers: [WebSocketTimer: Scheduled<Void>] = [:]
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
        self.closedPromise = closedPromise
        self.budget = budget
        self.observer = observer
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            perform(machine.transportActive(), context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(machine.transportActive(), context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(machine.transportClosed(), context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        perform(machine.transportClosed(), context: context)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.peerIsAlive(), context: context)
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
                if machine.isDeliveringMessages {
                    context.fireChannelRead(wrapInboundOut(.message(message)))
                }
            case .ping:
                observer?.frame("ping", inbound: true)
                // The pong is queued: send it, behind whatever was written before.
                flushOutput(context: context)
            case .pong:
                observer?.frame("pong", inbound: true)
            case .close:
                observer?.frame("close", inbound: true)
                perform(machine.readingEnded(), context: context)
            case .failure:
                perform(machine.readingEnded(), context: context)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if machine.readsRegardlessOfDemand {
            context.read()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            perform(machine.quiesce(), context: context)
            return
        }
        if case ChannelEvent.inputClosed = event {
            // With half-closure allowed, NIO would otherwise leave the socket in CLOSE-WAIT.
            perform(machine.receivedEOF(), context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        perform(machine.transportFailed(), context: context)
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
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
        guard !machine.isTransportClosed else {
            // The channel went inactive and its handlers are not removed yet: nothing will flush.
            written.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var closeActions: [WebSocketAction] = []
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
                closeActions = try machine.close(code: code, reason: reason)
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
        if machine.isSendingOver {
            budget.isClosed.store(true, ordering: .releasing)
        }
        unflushed.append(written)
        scheduleFlush(context: context)
        perform(closeActions, context: context)
    }

    func flush(context: ChannelHandlerContext) {
        flushOutput(context: context)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is WebSocketReplyToClose {
            perform(machine.applicationCaughtUp(), context: context)
            promise?.succeed()
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    // MARK: Actions

    /// Does what the machine answered, in order.
    private func perform(_ actions: [WebSocketAction], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .startTimer(let timer, let delay):
                timers[timer] = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                    self.perform(self.machine.timerFired(timer), context: context)
                }
            case .cancelTimer(let timer):
                timers.removeValue(forKey: timer)?.cancel()
            case .endOfMessages:
                context.fireChannelRead(wrapInboundOut(.end))
            case .flush:
                flushOutput(context: context)
            case .flushThenCloseTransport:
                let written = context.eventLoop.makePromise(of: Void.self)
                flushOutput(context: context, promise: written)
                written.futureResult.assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            case .closeTransport:
                context.close(promise: nil)
            case .discardPendingWrites:
                budget.isClosed.store(true, ordering: .releasing)
                let neverFlushed = unflushed
                unflushed = []
                for promise in neverFlushed {
                    promise.fail(ChannelError.ioOnClosedChannel)
                }
            case .reportClose(let status):
                observer?.closed(code: status.code.rawValue)
                closedPromise.succeed(status)
            }
        }
    }

    // MARK: Output

    /// Writes every frame sent so far, as one batch, and flushes; `promise` completes once
    /// they are written.
    private func flushOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        if let promise {
            unflushed.append(promise)
        }
        if machine.isSendingOver {
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
            guard !self.machine.isTransportClosed, self.machine.hasOutput || !self.unflushed.isEmpty else { return }
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
}

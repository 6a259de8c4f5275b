import NIOCore

/// An open WebSocket connection for async code: a stream of incoming messages and a writer.
///
/// ```
/// try await connection.run { inbound, outbound in
///     for try await message in inbound {
///         try await outbound.send(message)
///     }
/// }
/// let status = await connection.closeStatus
/// ```
///
/// Backpressure runs both ways: while the consumer does not ask for the next message the
/// channel stops reading from the socket, and `send` waits once 256 KiB are queued unwritten.
public struct WebSocketConnection: Sendable {
    public let channel: any Channel
    /// The subprotocol agreed in the handshake, if any.
    public let subprotocol: String?
    /// Inbound only: its backpressure pauses reads. Writes go through `channel.write` (the
    /// handler flushes at the end of the loop tick) under a `WebSocketSendBudget`, because NIO's
    /// async writer learns of unwritability a loop hop late and lets a fast sender queue without
    /// bound.
    private let asyncChannel: NIOAsyncChannel<WebSocketInboundElement, Never>
    private let closed: EventLoopFuture<WebSocketCloseStatus>
    private let budget: WebSocketSendBudget

    /// Buffered messages beyond which reading from the socket pauses.
    static let backPressure = NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 2, highWatermark: 8)

    /// Puts the WebSocket handlers on a channel whose HTTP handlers are gone, as the last step
    /// of an upgrade. Must run on the channel's event loop; bytes that followed the handshake in
    /// the same read reach the new handlers, as NIO's upgrade handlers replay them.
    public static func installHandlers(
        on channel: any Channel,
        role: WebSocketRole,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        subprotocol: String? = nil,
        observer: (any WebSocketObserver)? = nil
    ) throws -> WebSocketConnection {
        channel.eventLoop.preconditionInEventLoop()
        let closed = channel.eventLoop.makePromise(of: WebSocketCloseStatus.self)
        let budget = WebSocketSendBudget()
        let handler = WebSocketChannelHandler(role: role, configuration: configuration, closedPromise: closed, budget: budget, observer: observer)
        try channel.pipeline.syncOperations.addHandler(handler)
        let asyncChannel = try NIOAsyncChannel<WebSocketInboundElement, Never>(
            wrappingChannelSynchronously: channel,
            configuration: .init(backPressureStrategy: backPressure, isOutboundHalfClosureEnabled: false)
        )
        return WebSocketConnection(
            channel: channel, subprotocol: subprotocol, asyncChannel: asyncChannel, closed: closed.futureResult, budget: budget
        )
    }

    /// The server side of `installHandlers`, for an upgrader's `upgrade(channel:…)` callback.
    ///
    /// The API layer's Hummingbird child channel uses it like this: its
    /// `NIOTypedHTTPServerProtocolUpgrader.buildUpgradeResponse` runs authentication, then
    /// `WebSocketServerHandshake.evaluate(head)`, and returns `acceptance.headers` (or fails
    /// with the rejection, which it answers itself with `Connection: close`); its
    /// `upgrade(channel:upgradeRequest:)` returns
    /// `channel.eventLoop.makeCompletedFuture { try WebSocketConnection.installServerHandlers(on: channel, configuration: …) }`;
    /// and its `handle(value:)` calls `connection.run { inbound, outbound in … }`.
    public static func installServerHandlers(
        on channel: any Channel,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        subprotocol: String? = nil,
        observer: (any WebSocketObserver)? = nil
    ) throws -> WebSocketConnection {
        try installHandlers(on: channel, role: .server, configuration: configuration, subprotocol: subprotocol, observer: observer)
    }

    /// How the connection ended; waits until the channel is closed.
    public var closeStatus: WebSocketCloseStatus {
        get async {
            // The promise is only ever succeeded.
            (try? await closed.get()) ?? WebSocketCloseStatus(code: .abnormalClosure)
        }
    }

    /// Runs `body` with the connection's message stream and writer, then ends the connection:
    /// if `body` returned, with a normal close (1000); if it threw, with 1011. Either way it
    /// waits for the close handshake (bounded by the close timeout) before closing the channel.
    public func run<Result: Sendable>(
        _ body: (_ inbound: WebSocketInbound, _ outbound: WebSocketOutbound) async throws -> Result
    ) async throws -> Result {
        let closed = self.closed
        let writer = WebSocketOutbound(channel: channel, budget: budget)
        return try await asyncChannel.executeThenClose { inbound in
            let result: Result
            do {
                result = try await body(WebSocketInbound(stream: inbound, channel: channel), writer)
            } catch {
                try? await writer.close(code: .internalError, reason: "")
                _ = try? await closed.get()
                throw error
            }
            try? await writer.close(code: .normalClosure, reason: "")
            _ = try? await closed.get()
            return result
        }
    }
}

/// The connection's incoming data messages, in order. Pings, pongs and close frames are handled
/// underneath; the sequence ends when the connection closes (see
/// `WebSocketConnection.closeStatus` for why).
public struct WebSocketInbound: AsyncSequence, Sendable {
    public typealias Element = WebSocketMessage
    let stream: NIOAsyncChannelInboundStream<WebSocketInboundElement>
    let channel: any Channel

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: NIOAsyncChannelInboundStream<WebSocketInboundElement>.AsyncIterator
        let channel: any Channel
        var finished = false

        public mutating func next() async throws -> WebSocketMessage? {
            guard !finished else { return nil }
            switch try await base.next() {
            case .message(let message):
                return message
            case .end:
                // Reaching the end means every earlier message was handled: our close frame
                // may go out now.
                finished = true
                channel.triggerUserOutboundEvent(WebSocketReplyToClose(), promise: nil)
                return nil
            case nil:
                finished = true
                return nil
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), channel: channel)
    }
}

/// Sends on a connection. A send returns as soon as its frame is queued while less than
/// 256 KiB are waiting for the socket; past that it waits for its own write, so a slow peer
/// slows the sender down instead of growing a buffer. Once our close frame is out (or the
/// connection is gone), sends throw `WebSocketSendError.closed`; a data frame queued just as
/// the connection ends is lost, as it would be on the wire.
public struct WebSocketOutbound: Sendable {
    let channel: any Channel
    let budget: WebSocketSendBudget

    private func write(_ frame: WebSocketOutboundFrame) async throws {
        guard !budget.isClosed.load(ordering: .acquiring) else { throw WebSocketSendError.closed }
        let cost = WebSocketSendBudget.cost(of: frame)
        let before = budget.unwritten.add(cost, ordering: .relaxed).oldValue
        // No flush per frame: the handler flushes at the end of the event-loop tick, so frames
        // sent in a burst go down together.
        if before + cost <= WebSocketSendBudget.limit {
            channel.write(frame, promise: nil)
        } else {
            try await channel.write(frame).get()
        }
    }

    public func send(_ message: WebSocketMessage) async throws {
        try await write(.message(message))
    }

    public func send(text: String) async throws {
        try await write(.message(.text(text)))
    }

    public func send(binary: ByteBuffer) async throws {
        try await write(.message(.binary(binary)))
    }

    /// One frame of a fragmented message (first `.text`/`.binary`, then `.continuation`).
    public func sendFragment(opcode: WebSocketOpcode, payload: ByteBuffer, fin: Bool) async throws {
        try await write(.fragment(opcode: opcode, payload: payload, fin: fin))
    }

    public func ping(_ payload: ByteBuffer = ByteBuffer()) async throws {
        try await write(.ping(payload))
    }

    /// Starts the close handshake. Messages that arrive afterwards are dropped; the inbound
    /// sequence ends when the handshake completes or times out.
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") async throws {
        try await write(.close(code: code, reason: reason))
        // Later sends from this side must fail even before the event loop has seen the close.
        budget.isClosed.store(true, ordering: .releasing)
    }
}

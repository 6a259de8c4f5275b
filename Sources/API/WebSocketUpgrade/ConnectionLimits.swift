import Logging
import NIOCore
import Synchronization

/// Bounds on what one client connection may hold: the time to send its first request head, the
/// time a keep-alive connection may sit between requests, and how many connections a replica
/// serves at once. WebSocket connections are not subject to the two timeouts (they have their
/// own ping/timeout) but do count against the cap.
public struct ConnectionLimits: Sendable {
    /// From accept to the end of the first request head. A half-sent head is closed after it.
    public var headerReadTimeout: Duration
    /// A keep-alive connection with no request in progress (and no byte read) for this long is
    /// closed; it also bounds how long the head of a later request on that connection may take.
    public var idleTimeout: Duration
    /// Connections served at once, WebSockets included; one more is answered 503 and closed.
    public var maximumConnections: Int

    /// 20,000 leaves room for DESIGN's 10,000 idle daemon WebSockets per replica, plus as many
    /// again for log streams and REST clients.
    public init(headerReadTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60), maximumConnections: Int = 20_000) {
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }
}

/// Counts open connections against `ConnectionLimits.maximumConnections`.
public final class ConnectionGate: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    /// Set while refusing, so that a flood logs one line when it starts, not one per connection.
    private let refusing = Atomic<Bool>(false)
    private let logger: Logger

    init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Takes a slot for `channel` until it closes; false if none is free.
    func admit(_ channel: any Channel) -> Bool {
        let count = open.add(1, ordering: .relaxed).newValue
        guard count <= limit else {
            open.subtract(1, ordering: .relaxed)
            if !refusing.exchange(true, ordering: .relaxed) {
                logger.warning("connection limit reached: refusing new connections with 503", metadata: ["limit": "\(limit)"])
            }
            return false
        }
        if refusing.exchange(false, ordering: .relaxed) {
            logger.notice("accepting connections again", metadata: ["limit": "\(limit)"])
        }
        channel.closeFuture.whenComplete { _ in self.open.subtract(1, ordering: .relaxed) }
        return true
    }
}

/// Answers a connection over the cap without parsing it: a 503 in Coder's envelope with
/// `Connection: close`, then a half-close. What the client sends is read and dropped until it
/// closes too (or `linger` passes), because closing a socket with unread input resets it, and a
/// reset can destroy the answer before the client has read it.
final class CapacityRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let error = APIError(.serviceUnavailable, "The server is at its connection limit. Try again later.")

    private let linger: TimeAmount
    private var answered = false

    init(linger: TimeAmount = .seconds(2)) {
        self.linger = linger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context)
        context.fireChannelActive()
    }

    private func answer(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let body = ErrorMiddleware<AppRequestContext>.envelope(for: Self.error)
        var response = context.channel.allocator.buffer(capacity: 160 + body.readableBytes)
        response.writeString(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: \(JSON.contentType)\r\nContent-Length: \(body.readableBytes)\r\n"
                + "Retry-After: 1\r\nConnection: close\r\n\r\n"
        )
        response.writeImmutableBuffer(body)
        context.writeAndFlush(wrapOutboundOut(response), promise: nil)
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: linger) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

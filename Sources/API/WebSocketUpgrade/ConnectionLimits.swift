import Hummingbird
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
    /// Connections one client address holds at once (the address `ProxyTrust` resolves at the
    /// first request head; an IPv6 client by its /64); one more is answered 429 and closed. The
    /// trusted proxies' own addresses are not counted.
    public var maximumConnectionsPerAddress: Int

    /// 20,000 leaves room for DESIGN's 10,000 idle daemon WebSockets per replica, plus as many
    /// again for log streams and REST clients. 1,000 per address: an office or a Kubernetes
    /// cluster behind one NAT address, running hundreds of daemons beside its users' browsers,
    /// stays under it, while one host needs 20 addresses to fill the replica.
    public init(headerReadTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60), maximumConnections: Int = 20_000, maximumConnectionsPerAddress: Int = 1000) {
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerAddress = maximumConnectionsPerAddress
    }
}

/// Counts open connections against `ConnectionLimits.maximumConnections`, and per client address
/// against `maximumConnectionsPerAddress`. One gate serves every listener of a replica.
public final class ConnectionGate: Sendable {
    let limit: Int
    let perAddressLimit: Int
    private let open = Atomic<Int>(0)
    /// Set while refusing, so that a flood logs one line when it starts, not one per connection.
    private let refusing = Atomic<Bool>(false)
    private let addresses = Mutex(AddressCounts())
    private let logger: Logger

    /// Open connections by client address; only addresses with one are kept, so the table is as
    /// large as the number of distinct clients connected.
    private struct AddressCounts {
        var open: [[UInt8]: Int] = [:]
        /// Addresses refused since they last had a free slot: one warning per address and episode.
        var refusing: Set<[UInt8]> = []
    }

    init(limit: Int, perAddressLimit: Int = .max, logger: Logger) {
        self.limit = limit
        self.perAddressLimit = perAddressLimit
        self.logger = logger
    }

    /// Open connections counted for `address` (tests and metrics).
    func openConnections(address: String) -> Int {
        guard let key = Self.addressKey(address) else { return 0 }
        return addresses.withLock { $0.open[key] ?? 0 }
    }

    /// The bucket an address is counted in: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), or
    /// an IPv6 address's /64, which one host can otherwise fill with addresses of its own. Nil for
    /// anything that is not an IP address (nothing is counted for it).
    static func addressKey(_ address: String) -> [UInt8]? {
        guard let bytes = IPNetwork.parseAddress(address) else { return nil }
        guard bytes.count == 16 else { return bytes }
        if bytes[0..<12].elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]) { return Array(bytes[12...]) }
        return Array(bytes[0..<8])
    }

    /// Takes one of `address`'s slots for `channel` until it closes; false if it has none free.
    /// Called once per connection, at its first request head, so a keep-alive connection counts
    /// once however many requests it carries.
    func admit(address: String, channel: any Channel) -> Bool {
        guard let key = Self.addressKey(address) else { return true }
        let limit = perAddressLimit
        let (admitted, firstRefusal): (Bool, Bool) = addresses.withLock { counts in
            let open = counts.open[key] ?? 0
            guard open < limit else { return (false, counts.refusing.insert(key).inserted) }
            counts.open[key] = open + 1
            counts.refusing.remove(key)
            return (true, false)
        }
        guard admitted else {
            if firstRefusal {
                logger.warning("connection limit per address reached: refusing its new connections with 429", metadata: ["address": "\(address)", "limit": "\(limit)"])
            }
            return false
        }
        channel.closeFuture.whenComplete { _ in
            self.addresses.withLock { counts in
                let open = (counts.open[key] ?? 1) - 1
                if open > 0 {
                    counts.open[key] = open
                } else {
                    counts.open.removeValue(forKey: key)
                    counts.refusing.remove(key)
                }
            }
        }
        return true
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

    private let error: APIError
    private let linger: TimeAmount
    private var answered = false

    /// `error`: the answer (the global cap's 503 by default; the per-address cap's 429 for a
    /// client over it at accept, `AddressCapHandler.error`).
    init(error: APIError = CapacityRefusalHandler.error, linger: TimeAmount = .seconds(2)) {
        self.error = error
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
        let body = ErrorMiddleware<AppRequestContext>.envelope(for: error)
        var response = context.channel.allocator.buffer(capacity: 160 + body.readableBytes)
        response.writeString(
            "HTTP/1.1 \(error.status.code) \(error.status.reasonPhrase)\r\nContent-Type: \(JSON.contentType)\r\nContent-Length: \(body.readableBytes)\r\n"
                + "Retry-After: 1\r\nConnection: close\r\n\(ErrorMiddleware<AppRequestContext>.requestIDHeader.rawName): \(RequestID())\r\n\r\n"
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

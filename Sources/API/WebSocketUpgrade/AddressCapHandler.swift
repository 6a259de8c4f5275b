import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// The per-address connection cap (`ConnectionLimits.maximumConnectionsPerAddress`) for
/// connections from a trusted proxy, taken when the first request head arrives: only then is the
/// client's address known, through the proxy's headers (`ProxyTrust`). Any other peer is its own
/// client and was counted at accept. Sits right after NIO's request decoder, before the
/// upgrade handler, so that a refused connection costs no routing, no authentication and no
/// database work. A connection that is admitted holds its slot until it closes (keep-alive
/// requests and an upgraded WebSocket included: connections are counted, not requests); the
/// handler then leaves the pipeline.
///
/// Not counted: a connection whose address is a trusted proxy's own (the proxy itself, or a
/// forwarded request whose header names no client beyond our proxies): everything behind one
/// load balancer would otherwise share its one address.
///
/// Over the cap, the connection is answered 429 in Coder's envelope with `Connection: close`, its
/// output closed, and what it sends drained and dropped until it closes too or `linger` passes,
/// as `CapacityRefusalHandler` does, so that the close does not reset the answer away.
final class AddressCapHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let error = APIError(
        .tooManyRequests, "Too many connections from your address. Try again later.",
        detail: "Close some of this address's connections to the server first."
    )

    private let gate: ConnectionGate
    private let proxyTrust: ProxyTrust
    private let linger: TimeAmount
    private var refused = false

    init(gate: ConnectionGate, proxyTrust: ProxyTrust, linger: TimeAmount = .seconds(2)) {
        self.gate = gate
        self.proxyTrust = proxyTrust
        self.linger = linger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The refused request's body, and anything after it, goes nowhere.
        guard !refused else { return }
        guard case .head(let head) = unwrapInboundIn(data) else {
            // The decoder's first part is always a head; pass anything else on untouched.
            context.fireChannelRead(data)
            return
        }
        let peer = context.channel.remoteAddress?.ipAddress
        // An untrusted peer was counted at accept (`UpgradeChannel.setup`); a trusted proxy's
        // connection counts for the client its headers name.
        let address = peer.map(proxyTrust.trusts) == true ? proxyTrust.clientAddress(peer: peer, values: { head.headers[$0.canonicalName] }) : nil
        if let address, !proxyTrust.trusts(address), !gate.admit(address: address, channel: context.channel) {
            refuse(context)
            return
        }
        context.fireChannelRead(data)
        // Counted once per connection: later requests, and an upgraded WebSocket's bytes, pass by.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func refuse(_ context: ChannelHandlerContext) {
        refused = true
        let body = ErrorMiddleware<AppRequestContext>.envelope(for: Self.error)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: JSON.contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Retry-After", value: "1")
        headers.add(name: "Connection", value: "close")
        headers.add(name: ErrorMiddleware<AppRequestContext>.requestIDHeader.rawName, value: RequestID().description)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .tooManyRequests, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: linger) { channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if refused, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if refused {
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }
}

import NIOCore
import NIOHTTP1

/// Writes the upgrade request, reads the response head with the handshake's own parser, and
/// hands the connection to the WebSocket handlers, bytes after the head included.
///
/// No NIO HTTP codec is involved: `HTTPResponseDecoder` observes outbound writes, and removing
/// it while the new handlers already answer a ping crashes on the frame bytes.
final class WebSocketClientHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let handshake: WebSocketClientHandshake
    private let request: ByteBuffer
    private let configuration: WebSocketConfiguration
    private let promise: EventLoopPromise<WebSocketConnection>
    private var received = ByteBuffer()
    private var requestSent = false
    private var done = false

    init(
        handshake: WebSocketClientHandshake,
        request: ByteBuffer,
        configuration: WebSocketConfiguration,
        promise: EventLoopPromise<WebSocketConnection>
    ) {
        self.handshake = handshake
        self.request = request
        self.configuration = configuration
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            sendRequest(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard !requestSent else { return }
        requestSent = true
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var bytes = unwrapInboundIn(data)
        received.writeBuffer(&bytes)
        do {
            guard let head = try WebSocketClientHandshake.parseResponseHead(&received) else { return }
            let subprotocol = try handshake.validate(status: head.status, headers: head.headers)
            upgrade(context: context, subprotocol: subprotocol)
        } catch {
            fail(context: context, error: error)
        }
    }

    private func upgrade(context: ChannelHandlerContext, subprotocol: String?) {
        done = true
        do {
            let connection = try WebSocketConnection.installHandlers(
                on: context.channel, role: .client, configuration: configuration, subprotocol: subprotocol
            )
            // Frames that came with the 101 go to the new handlers, which sit right after us.
            if received.readableBytes > 0 {
                context.fireChannelRead(wrapInboundOut(received))
                context.fireChannelReadComplete()
            }
            received = ByteBuffer()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            promise.succeed(connection)
        } catch {
            promise.fail(error)
            context.close(promise: nil)
        }
    }

    private func fail(context: ChannelHandlerContext, error: any Error) {
        guard !done else { return }
        done = true
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context: context, error: ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error: error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.ioOnClosedChannel)
        }
    }
}

import NIOCore
import NIOHTTP1

/// Sends the upgrade request, checks the response, and swaps the HTTP handlers for the
/// WebSocket ones. Bytes the server sent right after its 101 stay in the HTTP decoder until it
/// is removed, which forwards them to the new handlers.
final class WebSocketClientHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let handshake: WebSocketClientHandshake
    private let requestHead: HTTPRequestHead
    private let configuration: WebSocketConfiguration
    private let httpHandlers: [any RemovableChannelHandler]
    private let promise: EventLoopPromise<WebSocketConnection>
    private var requestSent = false
    private var subprotocol: String?
    private var accepted = false
    private var done = false

    init(
        handshake: WebSocketClientHandshake,
        requestHead: HTTPRequestHead,
        configuration: WebSocketConfiguration,
        httpHandlers: [any RemovableChannelHandler],
        promise: EventLoopPromise<WebSocketConnection>
    ) {
        self.handshake = handshake
        self.requestHead = requestHead
        self.configuration = configuration
        self.httpHandlers = httpHandlers
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
        context.write(wrapOutboundOut(.head(requestHead)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            do {
                subprotocol = try handshake.validate(status: head.status, headers: head.headers)
                accepted = true
            } catch {
                fail(context: context, error: error)
            }
        case .body:
            break
        case .end:
            guard accepted else {
                fail(context: context, error: WebSocketClientHandshake.Failure.missingUpgradeHeader)
                return
            }
            upgrade(context: context)
        }
    }

    private func upgrade(context: ChannelHandlerContext) {
        done = true
        do {
            let connection = try WebSocketConnection.installHandlers(
                on: context.channel, role: .client, configuration: configuration, subprotocol: subprotocol
            )
            let operations = context.pipeline.syncOperations
            operations.removeHandler(context: context, promise: nil)
            for handler in httpHandlers {
                operations.removeHandler(handler, promise: nil)
            }
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

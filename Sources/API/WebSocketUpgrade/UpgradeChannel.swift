import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import WebSocket

/// The server's child channel: ordinary HTTP through the router, and upgrades to our own WebSocket
/// handlers, decided by the same router (see `RouterMethods.webSocket`). Built on public
/// Hummingbird and NIO API.
///
/// NIO considers an upgrade on the first request of a connection only, and swallows the request
/// head when an upgrade is refused; so the router's answer to a request that did not upgrade is
/// recorded per connection and written here, with `Connection: close` so that the connection never
/// returns to a client's keep-alive pool.
///
/// Connection hygiene (`ConnectionLimits`) lives here too: a connection over the cap is answered
/// 503 before any parsing, one over its address's cap 429 at its first request head
/// (`AddressCapHandler`); the first request head must arrive within the header-read timeout (a
/// later one within the idle timeout, which `HTTPConnectionStateHandler` enforces between
/// requests); an upgraded WebSocket leaves both timeouts behind.
struct UpgradeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias HTTPAsyncChannel = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    /// The connection, and the outcome of its first request, known when that request arrives.
    /// `setup` must not wait for it: the server delivers a connection once its setup completes.
    struct Value: ServerChildChannelValue {
        let channel: any Channel
        let negotiation: EventLoopFuture<Negotiated>
    }

    enum Negotiated: Sendable {
        case http(HTTPAsyncChannel)
        case websocket(WebSocketConnection, @Sendable (WebSocketConnection) async -> Void)
        /// The first request asked to upgrade and did not: write the router's answer and close.
        case answered(HTTPAsyncChannel, Response)
        /// Over the connection cap: `CapacityRefusalHandler` answers and closes.
        case overCapacity
    }

    let responder: HTTPChannelHandler.Responder
    /// The router, asked directly for upgrades: the context must carry the upgrade, which the
    /// application's `responder` cannot pass on.
    let router: RouterResponder<AppRequestContext>
    let limits: ConnectionLimits
    let gate: ConnectionGate
    /// Counts what crosses the upgraded connections (the WebSocket metrics); nil counts nothing.
    var observer: (any WebSocketObserver)?
    /// Behind TLS (the request's scheme is https).
    var secure = false
    /// Whose forwarding headers name the client, for the per-address cap (`AddressCapHandler`).
    var proxyTrust = ProxyTrust()

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            guard gate.admit(channel) else {
                try channel.pipeline.syncOperations.addHandler(CapacityRefusalHandler())
                return Value(channel: channel, negotiation: channel.eventLoop.makeSucceededFuture(.overCapacity))
            }
            // A peer that is not a trusted proxy is its own client: its per-address slot is taken
            // now, before any byte, so that connections that never send a request head count too
            // (else one host's silent connections could fill the global cap). Only a trusted
            // proxy's connections wait for the head to say whose they are (`AddressCapHandler`).
            if let peer = channel.remoteAddress?.ipAddress, !proxyTrust.trusts(peer), !gate.admit(address: peer, channel: channel) {
                try channel.pipeline.syncOperations.addHandler(CapacityRefusalHandler(error: AddressCapHandler.error))
                return Value(channel: channel, negotiation: channel.eventLoop.makeSucceededFuture(.overCapacity))
            }
            let firstRequestIn = NIOLockedValueBox(false)
            let headTimer = channel.eventLoop.scheduleTask(in: TimeAmount(limits.headerReadTimeout)) {
                if !firstRequestIn.withLockedValue({ $0 }) {
                    logger.debug("closing a connection whose first request head did not arrive in time")
                    channel.close(promise: nil)
                }
            }
            channel.closeFuture.whenComplete { _ in headTimer.cancel() }
            let refusal = NIOLockedValueBox<Response?>(nil)
            let accepted = NIOLockedValueBox<WebSocketAcceptance?>(nil)
            let upgrader = RouteUpgrader(router: router, logger: logger, refusal: refusal, accepted: accepted, firstRequestIn: firstRequestIn, observer: observer, secure: secure)
            let idleTimeout = limits.idleTimeout
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    firstRequestIn.withLockedValue { $0 = true }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: secure))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
                        let http = try HTTPAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if let answer = refusal.withLockedValue({ $0 }) { return .answered(http, answer) }
                        return .http(http)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgradeConfiguration)
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            let negotiation = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            // The per-address cap, between the decoder and the upgrade handler: it reads the first
            // request head, counts the connection for its client, and leaves.
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(AddressCapHandler(gate: gate, proxyTrust: proxyTrust), position: .after(decoder))
            return Value(channel: channel, negotiation: negotiation)
        }
    }

    func handle(value: Value, logger: Logger) async {
        let negotiated: Negotiated
        do {
            negotiated = try await value.negotiation.get()
        } catch {
            logger.debug("connection ended before its first request was handled", metadata: ["error": "\(error)"])
            value.channel.close(promise: nil)
            return
        }
        switch negotiated {
        case .http(let http):
            await handleHTTP(asyncChannel: http, logger: logger)
        case .websocket(let connection, let handler):
            // On the connection's own loop: no thread switch between the socket and the handler.
            await withTaskExecutorPreference(EventLoopTaskExecutor(connection.channel.eventLoop)) {
                await handler(connection)
            }
        case .answered(let http, let response):
            await write(response, on: http, logger: logger)
        case .overCapacity:
            try? await value.channel.closeFuture.get()
        }
    }

    private func write(_ response: Response, on http: HTTPAsyncChannel, logger: Logger) async {
        do {
            try await http.executeThenClose { _, outbound in
                var response = response
                response.headers[.connection] = "close"
                try await ResponseWriter(outbound: outbound).write(response: response.head, body: response.body)
                outbound.finish()
            }
        } catch {
            logger.debug("writing an upgrade refusal failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Decides upgrades: evaluates the handshake, then asks the router, with the upgrade on the
/// context. A WebSocket route that accepts records it there; any other answer (an error, or an
/// ordinary route's response) is written as the answer to the request, which does not upgrade.
private struct RouteUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = UpgradeChannel.Negotiated

    let supportedProtocol = "websocket"
    /// Checked by `WebSocketServerHandshake` (through `WebSocketUpgradeRequest.checkHandshake`), which says which
    /// header is wrong.
    let requiredUpgradeHeaders: [String] = []
    let router: RouterResponder<AppRequestContext>
    let logger: Logger
    let refusal: NIOLockedValueBox<Response?>
    let accepted: NIOLockedValueBox<WebSocketAcceptance?>
    /// The first request is in: set once the upgrade happens, not at the head. NIO waits for the
    /// request's end before upgrading, so a head announcing a body that never comes would
    /// otherwise hold the connection; the header-read timeout bounds the head, that body and the
    /// route's decision.
    let firstRequestIn: NIOLockedValueBox<Bool>
    let observer: (any WebSocketObserver)?
    let secure: Bool

    struct Refused: Error {}

    func buildUpgradeResponse(channel: any Channel, upgradeRequest head: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let request: HTTPRequest
        do {
            request = try HTTPRequest(head, secure: secure, splitCookie: false)
        } catch {
            let response = ErrorMiddleware<AppRequestContext>.response(
                for: APIError(.badRequest, "Invalid request."), requestID: RequestID().description, logger: logger
            )
            refusal.withLockedValue { $0 = response }
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        let upgrade = WebSocketUpgradeRequest(handshake: WebSocketServerHandshake.evaluate(head, subprotocols: []))
        let promise = channel.eventLoop.makePromise(of: HTTPHeaders.self)
        let router = self.router
        var requestLogger = self.logger
        requestLogger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
        let logger = requestLogger
        promise.completeWithTask {
            var context = AppRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
            context.webSocketUpgrade = upgrade
            let response: Response
            do {
                response = try await router.respond(to: Request(head: request, body: .init(buffer: ByteBuffer())), context: context)
            } catch {
                // The router's ErrorMiddleware answers errors; this is a backstop, so that a
                // refusal is always written (NIO has swallowed the request head).
                response = ErrorMiddleware<AppRequestContext>.response(for: ErrorMiddleware<AppRequestContext>.apiError(for: error), requestID: context.id, logger: logger)
            }
            guard response.status == .switchingProtocols, let acceptance = upgrade.accepted, case .accept(let handshake) = upgrade.handshake else {
                refusal.withLockedValue { $0 = response.status == .switchingProtocols ? ErrorMiddleware<AppRequestContext>.response(for: .internalError("a WebSocket route answered 101 without accepting"), requestID: context.id, logger: logger) : response }
                throw Refused()
            }
            accepted.withLockedValue { $0 = acceptance }
            var headers = initialResponseHeaders
            for (name, value) in handshake.headers where headers[name].isEmpty {
                headers.add(name: name, value: value)
            }
            return headers
        }
        return promise.futureResult
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        firstRequestIn.withLockedValue { $0 = true }
        return channel.eventLoop.makeCompletedFuture {
            guard let acceptance = accepted.withLockedValue({ $0 }) else { throw Refused() }
            let connection = try WebSocketConnection.installServerHandlers(on: channel, configuration: acceptance.configuration, observer: observer)
            return .websocket(connection, acceptance.handler)
        }
    }
}

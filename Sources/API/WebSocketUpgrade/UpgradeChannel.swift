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

/// The server's child channel: ordinary HTTP through the router, and, for the paths of
/// `routes`, an upgrade to our own WebSocket handlers. Built on public Hummingbird and NIO API.
///
/// NIO considers an upgrade on the first request of a connection only, and swallows the request
/// head when an upgrade is refused; so a refusal is recorded per connection and answered here, with
/// `Connection: close` so that the connection never returns to a client's keep-alive pool.
///
/// Connection hygiene (`ConnectionLimits`) lives here too: a connection over the cap is answered
/// 503 before any parsing; the first request head must arrive within the header-read timeout (a
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
        /// The upgrade was refused: write this error and close.
        case rejected(HTTPAsyncChannel, APIError)
        /// An Upgrade request for a path that is not a WebSocket route: answer it through the router.
        case routed(HTTPAsyncChannel, HTTPRequest)
        /// Over the connection cap: `CapacityRefusalHandler` answers and closes.
        case overCapacity
    }

    /// What the upgrader learned about the first request, for the not-upgrading path.
    enum Refusal: Sendable {
        case rejected(APIError)
        case notARoute(HTTPRequest)
    }

    let responder: HTTPChannelHandler.Responder
    let routes: [WebSocketRoute]
    let limits: ConnectionLimits
    let gate: ConnectionGate

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            guard gate.admit(channel) else {
                try channel.pipeline.syncOperations.addHandler(CapacityRefusalHandler())
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
            let refusal = NIOLockedValueBox<Refusal?>(nil)
            let accepted = NIOLockedValueBox<(WebSocketConfiguration, @Sendable (WebSocketConnection) async -> Void)?>(nil)
            let upgrader = RouteUpgrader(routes: routes, refusal: refusal, accepted: accepted, firstRequestIn: firstRequestIn)
            let idleTimeout = limits.idleTimeout
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    firstRequestIn.withLockedValue { $0 = true }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
                        let http = try HTTPAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        switch refusal.withLockedValue({ $0 }) {
                        case .rejected(let error): return .rejected(http, error)
                        case .notARoute(let request): return .routed(http, request)
                        case nil: return .http(http)
                        }
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgradeConfiguration)
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            let negotiation = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
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
        case .rejected(let http, let error):
            // Scrubbed and logged as any other error: a 5xx says only its request id.
            let response = ErrorMiddleware<AppRequestContext>.response(for: error, requestID: RequestID().description, logger: logger)
            await write(response, on: http, logger: logger)
        case .routed(let http, let request):
            try? await http.executeThenClose { _, outbound in
                let writer = ResponseWriter(outbound: outbound)
                try await responder(Request(head: request, body: .init(buffer: ByteBuffer())), writer, http.channel)
                outbound.finish()
            }
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

/// Decides upgrades for the routes: runs the route's async decision, then our handshake.
private struct RouteUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = UpgradeChannel.Negotiated

    let supportedProtocol = "websocket"
    /// Checked by `WebSocketServerHandshake`, which says which header is wrong.
    let requiredUpgradeHeaders: [String] = []
    let routes: [WebSocketRoute]
    let refusal: NIOLockedValueBox<UpgradeChannel.Refusal?>
    let accepted: NIOLockedValueBox<(WebSocketConfiguration, @Sendable (WebSocketConnection) async -> Void)?>
    /// The first request is in: set once the upgrade happens, not at the head. NIO waits for the
    /// request's end before upgrading, so a head announcing a body that never comes would
    /// otherwise hold the connection; the header-read timeout bounds the head, that body and the
    /// route's decision.
    let firstRequestIn: NIOLockedValueBox<Bool>

    struct Refused: Error {}

    func buildUpgradeResponse(channel: any Channel, upgradeRequest head: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let request: HTTPRequest
        do {
            request = try HTTPRequest(head, secure: false, splitCookie: false)
        } catch {
            refusal.withLockedValue { $0 = .rejected(APIError(.badRequest, "Invalid request.")) }
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        guard let route = routes.first(where: { $0.matches(path) }) else {
            refusal.withLockedValue { $0 = .notARoute(request) }
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        // The WebSocket handshake itself first: a malformed one is refused before any database work.
        let acceptance: WebSocketServerHandshake.Acceptance
        switch WebSocketServerHandshake.evaluate(head, subprotocols: []) {
        case .reject(let rejection):
            var error = APIError(HTTPResponse.Status(code: Int(rejection.status.code)), rejection.reason)
            for header in rejection.headers {
                if let name = HTTPField.Name(header.name) { error.headers[name] = header.value }
            }
            refusal.withLockedValue { $0 = .rejected(error) }
            return channel.eventLoop.makeFailedFuture(rejection)
        case .accept(let value):
            acceptance = value
        }
        let promise = channel.eventLoop.makePromise(of: HTTPHeaders.self)
        promise.completeWithTask {
            switch await route.decide(request) {
            case .reject(let error):
                refusal.withLockedValue { $0 = .rejected(error) }
                throw Refused()
            case .accept(let configuration, let handler):
                accepted.withLockedValue { $0 = (configuration, handler) }
                var headers = initialResponseHeaders
                for (name, value) in acceptance.headers where headers[name].isEmpty {
                    headers.add(name: name, value: value)
                }
                return headers
            }
        }
        return promise.futureResult
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        firstRequestIn.withLockedValue { $0 = true }
        return channel.eventLoop.makeCompletedFuture {
            guard let (configuration, handler) = accepted.withLockedValue({ $0 }) else { throw Refused() }
            let connection = try WebSocketConnection.installServerHandlers(on: channel, configuration: configuration)
            return .websocket(connection, handler)
        }
    }
}

import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import WebSocket

/// What a WebSocket route answers when it accepts an upgrade: the connection's settings and what
/// to do with the connection once the 101 is out.
public struct WebSocketAcceptance: Sendable {
    public var configuration: WebSocketConfiguration
    public var handler: @Sendable (WebSocketConnection) async -> Void

    public init(configuration: WebSocketConfiguration, handler: @escaping @Sendable (WebSocketConnection) async -> Void) {
        self.configuration = configuration
        self.handler = handler
    }
}

/// An upgrade being decided: `UpgradeChannel` runs the first request of a connection that asks
/// to upgrade through the router with one of these on the context (every other request has
/// none). The handshake is already evaluated; a WebSocket route that accepts records it here.
public final class WebSocketUpgradeRequest: Sendable {
    let handshake: WebSocketServerHandshake.Outcome
    private let acceptance = NIOLockedValueBox<WebSocketAcceptance?>(nil)

    init(handshake: WebSocketServerHandshake.Outcome) {
        self.handshake = handshake
    }

    var accepted: WebSocketAcceptance? { acceptance.withLockedValue { $0 } }

    func accept(_ value: WebSocketAcceptance) {
        acceptance.withLockedValue { $0 = value }
    }

    /// Throws the handshake's refusal (status, headers and reason) if it is malformed.
    func checkHandshake() throws {
        guard case .reject(let rejection) = handshake else { return }
        var error = APIError(HTTPResponse.Status(code: Int(rejection.status.code)), rejection.reason)
        for header in rejection.headers {
            if let name = HTTPField.Name(header.name) { error.headers[name] = header.value }
        }
        throw error
    }

    /// The router's answer that means "upgrade": never written, `UpgradeChannel` sends the 101.
    static let acceptedResponse = Response(status: .switchingProtocols)
}

extension RouterMethods where Context: UpgradeAwareContext {
    /// A WebSocket route: an ordinary GET route of the one router, so authentication, parameters,
    /// feature gates and errors are the router's. On an upgrade, `accept` decides; anything it
    /// throws is answered as any route's error and refuses the upgrade. A plain request to the
    /// path gets `plain`, by default 426 (or, for an upgrade asked on a reused keep-alive
    /// connection, which NIO does not upgrade, a redirect to a fresh one).
    ///
    /// A malformed handshake is refused before any authentication or database work: by
    /// `RequireAuthentication` when the route has it, else here before `accept` runs.
    @discardableResult
    func webSocket(
        _ path: RouterPath,
        plain: @escaping @Sendable (Request, Context) async throws -> Response = WebSocketRoutes.upgradeRequired,
        accept: @escaping @Sendable (Request, Context) async throws -> WebSocketAcceptance
    ) -> Self {
        get(path) { request, context -> Response in
            guard let upgrade = context.webSocketUpgrade else { return try await plain(request, context) }
            try upgrade.checkHandshake()
            upgrade.accept(try await accept(request, context))
            return WebSocketUpgradeRequest.acceptedResponse
        }
    }
}

enum WebSocketRoutes {
    @Sendable static func upgradeRequired<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> Response {
        if request.headers[.upgrade] != nil {
            // NIO upgrades only the first request of a connection: send the client to a new one.
            throw APIError(.temporaryRedirect, "Reconnect to upgrade.", headers: [.location: request.uri.description, .connection: "close"])
        }
        throw APIError(.upgradeRequired, "This endpoint requires a WebSocket upgrade.", headers: [.connection: "close", HTTPField.Name("Sec-WebSocket-Version")!: "13"])
    }
}

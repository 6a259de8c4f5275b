import Hummingbird
import Logging

/// Per-request state: who is asking, once the authentication middleware has run, and from where.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var subject: Subject?
    /// The socket peer's IP address (a proxy's, behind one; see `ProxyTrust`); nil in router tests.
    public var peerAddress: String?
    /// Set on the first request of a connection that asks to upgrade to a WebSocket (see
    /// `RouterMethods.webSocket`); nil on every other request.
    public var webSocketUpgrade: WebSocketUpgradeRequest?

    /// Returning an `Encodable` from a handler writes the product's JSON; decoding a body applies
    /// the body limit and Coder's messages.
    public var responseEncoder: some ResponseEncoder { APIResponseEncoder() }
    public var requestDecoder: some RequestDecoder { APIRequestDecoder() }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The authenticated subject; only call behind `RequireAuthentication`.
    func requireSubject() throws -> Subject {
        guard let subject else { throw APIError.signedOut }
        return subject
    }
}

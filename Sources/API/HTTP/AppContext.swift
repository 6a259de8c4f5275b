import Hummingbird
import Logging

/// Per-request state: who is asking, once the authentication middleware has run, and from where.
/// Routes behind authentication see it as a `SignedInContext`, where the subject is not optional.
public struct AppRequestContext: RequestContext, UpgradeAwareContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware (with `audit`), before a `SignedInContext` is made.
    public var subject: Subject?
    /// The audit trail of the signed-in request: who, from where, under which request id.
    var audit: AuditTrail?
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
}

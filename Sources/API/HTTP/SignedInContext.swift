import Hummingbird
import Logging

/// The context of a route behind authentication: the subject is there, not optional, so no
/// handler asks for it again or can forget to (Hummingbird's `ChildRequestContext`, made from the
/// `AppRequestContext` once `RequireAuthentication` or the SCIM bearer check has set the subject).
/// A controller gets its signed-in routes from `RouteGuards.signedIn(_:)`.
struct SignedInContext: ChildRequestContext, UpgradeAwareContext {
    typealias ParentContext = AppRequestContext

    var coreContext: CoreRequestContextStorage
    /// Who is asking.
    let subject: Subject
    /// Where this request's audit rows come from: `context.audit.record(.group, id:, target:, …)`.
    let audit: AuditTrail
    /// The socket peer's IP address (a proxy's, behind one).
    let peerAddress: String?
    let webSocketUpgrade: WebSocketUpgradeRequest?

    var responseEncoder: some ResponseEncoder { APIResponseEncoder() }
    var requestDecoder: some RequestDecoder { APIRequestDecoder() }

    init(context: AppRequestContext) throws {
        // The authentication middleware runs first and sets both, or refuses: this is the
        // backstop for a route group mounted without it.
        guard let subject = context.subject, let audit = context.audit else { throw APIError.signedOut }
        self.coreContext = context.coreContext
        self.subject = subject
        self.audit = audit
        self.peerAddress = context.peerAddress
        self.webSocketUpgrade = context.webSocketUpgrade
    }
}

/// A context that may carry a WebSocket upgrade being decided (see `RouterMethods.webSocket`).
protocol UpgradeAwareContext: RequestContext {
    var webSocketUpgrade: WebSocketUpgradeRequest? { get }
}

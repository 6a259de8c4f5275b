import Hummingbird
import HummingbirdCore
import Logging
import Pubsub
import Replicas
import Store
import WebSocket

/// Builds the HTTP application: every route of the API under one error writer, and the child
/// channel that upgrades the WebSocket routes.
public struct APIServer: Sendable {
    public struct Configuration: Sendable {
        public var version: String
        public var accessURL: String
        public var connectionLimits: ConnectionLimits
        public var loginPolicy: LoginThrottle.Policy
        public var proxyTrust: ProxyTrust
        public init(
            version: String, accessURL: String, connectionLimits: ConnectionLimits = ConnectionLimits(),
            loginPolicy: LoginThrottle.Policy = LoginThrottle.Policy(), proxyTrust: ProxyTrust = ProxyTrust()
        ) {
            self.version = version
            self.accessURL = accessURL
            self.connectionLimits = connectionLimits
            self.loginPolicy = loginPolicy
            self.proxyTrust = proxyTrust
        }
    }

    let store: Store
    let configuration: Configuration
    let pubsub: Pubsub?
    let membership: ReplicaMembership?
    let provisioners: ProvisionerServices?
    let logger: Logger
    public let authenticator: Authenticator
    let loginThrottle: LoginThrottle

    public init(store: Store, configuration: Configuration, pubsub: Pubsub? = nil, membership: ReplicaMembership? = nil, provisioners: ProvisionerServices? = nil, logger: Logger = Logger(label: "api")) {
        self.store = store
        self.configuration = configuration
        self.pubsub = pubsub
        self.membership = membership
        self.provisioners = provisioners
        self.logger = logger
        self.authenticator = Authenticator(store: store, pubsub: pubsub)
        self.loginThrottle = LoginThrottle(policy: configuration.loginPolicy)
    }

    private var daemonRoutes: ProvisionerDaemonRoutes? {
        provisioners.map { ProvisionerDaemonRoutes(store: store, authenticator: authenticator, services: $0, accessURL: configuration.accessURL, logger: logger) }
    }

    /// The one route table: HTTP routes and WebSocket routes alike (see `RouterMethods.webSocket`).
    public func makeRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let api = router.group("api/v2")
        let requireAuthentication = RequireAuthentication(authenticator: authenticator, accessURL: configuration.accessURL)
        let workspaces = WorkspaceRoutes(store: store, pubsub: pubsub, sockets: authenticator.sockets)

        HealthRoutes(store: store, pubsub: pubsub, version: configuration.version, externalURL: configuration.accessURL)
            .addRoutes(root: router, api: api)
        let users = UserRoutes(
            store: store, authenticator: authenticator, secureCookies: configuration.accessURL.hasPrefix("https://"),
            loginThrottle: loginThrottle, proxyTrust: configuration.proxyTrust
        )
        users.addPublicRoutes(to: api)

        // WebSocket routes: a malformed handshake is refused before anything else runs.
        let webSockets = api.group().add(middleware: WebSocketHandshakeGate())
        daemonRoutes?.addWebSocketRoutes(to: webSockets)
        workspaces.addWebSocketRoutes(to: webSockets.group().add(middleware: requireAuthentication))

        let authenticated = api.group().add(middleware: requireAuthentication)
        users.addAuthenticatedRoutes(to: authenticated)
        OrganizationRoutes(store: store).addAuthenticatedRoutes(to: authenticated)
        if let membership {
            ReplicaRoutes(membership: membership).addAuthenticatedRoutes(to: authenticated)
        }
        daemonRoutes?.addAuthenticatedRoutes(to: authenticated)
        TemplateVersionRoutes(store: store).addAuthenticatedRoutes(to: authenticated)
        workspaces.addAuthenticatedRoutes(to: authenticated)
        return router
    }

    /// The server's child channel: plain HTTP through the application's responder, upgrades
    /// decided by `router` (the same route table the application serves).
    public func makeServerBuilder(router: Router<AppRequestContext>) -> HTTPServerBuilder {
        let upgrades = router.buildResponder()
        let limits = configuration.connectionLimits
        let gate = ConnectionGate(limit: limits.maximumConnections, logger: logger)
        return HTTPServerBuilder { responder in
            UpgradeChannel(responder: responder, router: upgrades, limits: limits, gate: gate)
        }
    }

    public func makeServerBuilder() -> HTTPServerBuilder {
        makeServerBuilder(router: makeRouter())
    }
}

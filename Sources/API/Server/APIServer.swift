import Hummingbird
import HummingbirdCore
import Logging
import Pubsub
import Replicas
import Store
import Telemetry
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
        /// The key IdPs present to `/scim/v2` (`--scim-auth-header`); nil: SCIM is off.
        public var scimKey: String?
        /// The cost new password hashes are made at, and below which a login re-hashes. Always
        /// `.current` but in tests: no flag or environment variable reaches it, it is not among
        /// `init`'s parameters, and only code importing this module `@testable` can make another
        /// value (see `Passwords.Parameters`).
        public var passwordHashing: Passwords.Parameters = .current
        public init(
            version: String, accessURL: String, connectionLimits: ConnectionLimits = ConnectionLimits(),
            loginPolicy: LoginThrottle.Policy = LoginThrottle.Policy(), proxyTrust: ProxyTrust = ProxyTrust(),
            scimKey: String? = nil
        ) {
            self.scimKey = scimKey
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
    let licensing: LicensingServices?
    /// Which licensed features are enabled: the live entitlements when there is licensing,
    /// else everything (or what a test passes).
    let features: any FeatureProvider
    /// The replica's metrics (HTTP durations, WebSocket traffic); nil: none are kept.
    let metrics: CoordinatorMetrics?

    public init(
        store: Store, configuration: Configuration, pubsub: Pubsub? = nil, membership: ReplicaMembership? = nil,
        provisioners: ProvisionerServices? = nil, licensing: LicensingServices? = nil, features: (any FeatureProvider)? = nil,
        metrics: CoordinatorMetrics? = nil, logger: Logger = Logger(label: "api")
    ) {
        self.metrics = metrics
        self.licensing = licensing
        self.features = features ?? licensing?.entitlements ?? AllFeaturesEnabled()
        self.store = store
        self.configuration = configuration
        self.pubsub = pubsub
        self.membership = membership
        self.provisioners = provisioners
        self.logger = logger
        self.authenticator = Authenticator(store: store, pubsub: pubsub)
        self.loginThrottle = LoginThrottle(policy: configuration.loginPolicy)
    }

    /// Every resource's controller, in one place. A new resource adds one line here.
    private var controllers: [any ResourceController] {
        var controllers: [any ResourceController] = [
            HealthController(store: store, pubsub: pubsub, version: configuration.version, externalURL: configuration.accessURL),
            OpenAPIController(),
            SessionsController(
                store: store, authenticator: authenticator, secureCookies: configuration.accessURL.hasPrefix("https://"),
                loginThrottle: loginThrottle, proxyTrust: configuration.proxyTrust, licensing: licensing, audit: audit,
                passwordHashing: configuration.passwordHashing
            ),
            UsersController(store: store, authenticator: authenticator, passwordHashing: configuration.passwordHashing),
            OrganizationsController(store: store),
            FilesController(store: store),
            TemplateVersionsController(store: store, access: templateAccess),
            TemplatesController(store: store, access: templateAccess),
            WorkspacesController(store: store, access: templateAccess),
            GroupsController(store: store),
            TemplateACLController(store: store, access: templateAccess),
            WorkspaceBuildsController(store: store, pubsub: pubsub, sockets: authenticator.sockets, access: templateAccess),
            AuditController(store: store),
            WorkspaceQuotaController(store: store, features: features),
        ]
        let scimOrganization = SCIMOrganization(store: store)
        for path in SCIMController.mountPaths {
            let authentication = SCIMAuthentication(key: configuration.scimKey, authenticator: authenticator)
            let base = Self.trimmingSlash(configuration.accessURL) + "/" + path
            let users = SCIMUsersController(mountPath: path, base: base, authentication: authentication, store: store, organization: scimOrganization, audit: audit, authenticator: authenticator)
            let groups = SCIMGroupsController(mountPath: path, base: base, authentication: authentication, store: store, organization: scimOrganization, audit: audit)
            let features = self.features
            controllers += [users, groups]
            controllers.append(SCIMController(mountPath: path, base: base, authentication: authentication, users: users, groups: groups, groupsEnabled: { features.isEnabled(.templateRBAC) }))
            controllers.append(SCIMBulkController(mountPath: path, authentication: authentication, users: users, groups: groups, groupsEnabled: { features.isEnabled(.templateRBAC) }))
        }
        if let membership { controllers.append(ReplicasController(membership: membership)) }
        if let licensing {
            controllers.append(EntitlementsController(entitlements: licensing.entitlements))
            controllers.append(LicensesController(store: store, services: licensing))
            controllers.append(AppearanceController(store: store, services: licensing))
        }
        if let provisioners {
            controllers.append(ProvisionerDaemonsController(
                store: store, authenticator: authenticator, services: provisioners, accessURL: configuration.accessURL, logger: logger, audit: audit
            ))
        }
        return controllers
    }

    private static func trimmingSlash(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// What mutating handlers build their audit entries with (see `AuditRecorder`): the same
    /// feature answer as the gates, the same client address as the login throttle.
    var templateAccess: TemplateAccessChecker { TemplateAccessChecker(store: store, features: features) }

    var audit: AuditRecorder {
        AuditRecorder(features: features, proxyTrust: configuration.proxyTrust)
    }

    /// The one route table: HTTP routes and WebSocket routes alike (see `RouterMethods.webSocket`).
    public func makeRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        // Outermost, so that it sees the status errors are answered with.
        if let metrics { router.add(middleware: HTTPMetricsMiddleware(metrics: metrics)) }
        router.add(middleware: ErrorMiddleware())
        let guards = RouteGuards(
            authentication: RequireAuthentication(authenticator: authenticator, accessURL: configuration.accessURL, features: features, audit: audit),
            features: features
        )
        for controller in controllers {
            router.addRoutes(controller.routes(guards), atPath: RouterPath(controller.mountPath))
        }
        return router
    }

    /// The server's child channel: plain HTTP through the application's responder, upgrades
    /// decided by `router` (the same route table the application serves); behind TLS when
    /// `tls` is given (the HTTPS listener), with the certificate current at each accept.
    /// `gate` is the connection cap and the per-address cap, shared by every listener of the replica.
    public func makeServerBuilder(router: Router<AppRequestContext>, tls: ReloadableTLS? = nil, gate: ConnectionGate? = nil) -> HTTPServerBuilder {
        let upgrades = router.buildResponder()
        let limits = configuration.connectionLimits
        let gate = gate ?? makeConnectionGate()
        let observer = metrics.map { WebSocketMetricsObserver($0) }
        let proxyTrust = configuration.proxyTrust
        return HTTPServerBuilder { responder in
            let plain = UpgradeChannel(
                responder: responder, router: upgrades, limits: limits, gate: gate, observer: observer, secure: tls != nil, proxyTrust: proxyTrust
            )
            guard let tls else { return plain }
            return TLSUpgradeChannel(base: plain, tls: tls)
        }
    }

    public func makeConnectionGate() -> ConnectionGate {
        ConnectionGate(
            limit: configuration.connectionLimits.maximumConnections,
            perAddressLimit: configuration.connectionLimits.maximumConnectionsPerAddress, logger: logger
        )
    }
}

import Hummingbird
import Logging
import Pubsub
import Replicas
import Store

/// Builds the HTTP application: every route of the API under one error writer.
public struct APIServer: Sendable {
    public struct Configuration: Sendable {
        public var version: String
        public var accessURL: String
        public init(version: String, accessURL: String) {
            self.version = version
            self.accessURL = accessURL
        }
    }

    let store: Store
    let configuration: Configuration
    let pubsub: Pubsub?
    let membership: ReplicaMembership?
    public let authenticator: Authenticator

    public init(store: Store, configuration: Configuration, pubsub: Pubsub? = nil, membership: ReplicaMembership? = nil) {
        self.store = store
        self.configuration = configuration
        self.pubsub = pubsub
        self.membership = membership
        self.authenticator = Authenticator(store: store, pubsub: pubsub)
    }

    public func makeRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let api = router.group("api/v2")

        HealthRoutes(store: store, pubsub: pubsub, version: configuration.version, externalURL: configuration.accessURL)
            .addRoutes(root: router, api: api)
        let users = UserRoutes(store: store, authenticator: authenticator, secureCookies: configuration.accessURL.hasPrefix("https://"))
        users.addPublicRoutes(to: api)

        let authenticated = api.group().add(middleware: RequireAuthentication(authenticator: authenticator))
        users.addAuthenticatedRoutes(to: authenticated)
        OrganizationRoutes(store: store).addAuthenticatedRoutes(to: authenticated)
        if let membership {
            ReplicaRoutes(membership: membership).addAuthenticatedRoutes(to: authenticated)
        }
        return router
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Provisioning
import ProvisionerProtocol
import Store

/// `GET /organizations/{organization}/provisionerdaemons` and the `…/serve` WebSocket.
struct ProvisionerDaemonsController: ResourceController {
    static let pskHeader = HTTPField.Name(ProvisionerServe.pskHeader)!
    static let buildVersionHeader = HTTPField.Name(ProvisionerServe.buildVersionHeader)!
    static let knownProvisioners: Set<String> = ["echo", "terraform"]

    let store: Store
    let authenticator: Authenticator
    let services: ProvisionerServices
    /// Cookie-authenticated upgrades must come from a page of this origin.
    let accessURL: String
    let logger: Logger
    /// A daemon's registration is audited (`provisioner_daemon`: create for a new daemon, write
    /// for one reconnecting), with the upgrade's request; a refused one writes no row.
    let audit: AuditRecorder

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        // Authenticated by the pre-shared key or a session token: its own rule, so before the
        // authentication middleware.
        routes.webSocket("organizations/:organization/provisionerdaemons/serve", accept: serve)
        let signedIn = guards.signedIn(routes)
        signedIn.get("organizations/:organization/provisionerdaemons") { _, context in
            let organization = try await context.organizationParameter(store)
            try context.authorize(.read, .provisionerDaemons(organization: organization.id))
            return try await store.daemons(organizationID: organization.id).map(DaemonJSON.init)
        }
        return routes
    }

    /// The steps run in this order, and the first that fails is the answer: the credential and the
    /// organization before the request's parameters, the registration (and its audit row) last.
    @Sendable private func serve(_ request: Request, _ context: AppRequestContext) async throws -> WebSocketAcceptance {
        let credential = try await DaemonCredential(request, preSharedKey: services.preSharedKey, authenticator: authenticator, accessURL: accessURL)
        let organization = try await credential.organization(context.parameters.get("organization") ?? "", in: store)
        let daemon = try DaemonServeRequest(
            query: request.uri.queryParameters, headers: request.headers, subject: credential.subject, organizationID: organization.id
        )
        let connectionID = UUID()
        // The token's user is the actor (this route authenticates itself; the context has no subject).
        var actor = context
        actor.subject = credential.subject
        let audit = self.audit.trail(request, actor)
        let auditFields = credential.auditFields
        let outcome = try await store.registerDaemon(
            daemon.registration(organizationID: organization.id, connectionID: connectionID, replicaID: services.replicaID),
            liveness: services.connections.liveness, caps: daemon.caps(services.daemonCaps, subject: credential.subject)
        ) { old, new in
            try audit.record(
                .provisionerDaemon, id: new.id, target: new.name, action: old == nil ? .create : .write,
                old: old.map(AuditedDaemon.init), new: AuditedDaemon(new), secretFields: AuditedDaemon.secretFields,
                organization: new.organizationID, status: .switchingProtocols, additionalFields: auditFields
            )
        }
        let record = try outcome.registeredDaemon(named: daemon.name)
        let socket = DaemonSocket(
            record: record, request: daemon, connectionID: connectionID, organizationID: organization.id,
            credential: credential, store: store, services: services, sockets: authenticator.sockets, logger: logger
        )
        return WebSocketAcceptance(configuration: services.webSocket) { connection in await socket.run(connection) }
    }
}

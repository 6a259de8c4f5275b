import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import WireFormat
import Provisioning
import ProvisionerProtocol
import Pubsub
import Store
import WebSocket

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

    @Sendable private func serve(_ request: Request, _ context: AppRequestContext) async throws -> WebSocketAcceptance {
        let rawOrganization = context.parameters.get("organization") ?? ""
        let query = request.uri.queryParameters

        // Authentication: the pre-shared key, or a session token (from a cookie only with the
        // access URL's Origin: a browser adds the cookie to any page's WebSocket).
        var subject: Subject?
        // Before the subject is read: a role change announced after this re-checks the socket.
        let authenticatedAt = ContinuousClock.now
        if let presentedPSK = request.headers[Self.pskHeader] {
            guard let configured = services.preSharedKey, !configured.isEmpty else {
                throw APIError(.badRequest, "External provisioner daemons not enabled")
            }
            guard Tokens.constantTimeEqual(presentedPSK, configured) else {
                throw APIError(.unauthorized, "provisioner daemon auth token invalid")
            }
        } else if let token = try Authenticator.webSocketToken(
            headers: request.headers,
            query: Dictionary(query.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { a, _ in a }),
            accessURL: accessURL
        ) {
            subject = try await authenticator.authenticate(token: token)
        } else {
            throw APIError(.unauthorized, "provisioner daemon auth token required")
        }

        // The organization: an id, a name, or `default` (as Coder's daemons address it).
        let found: Organization? = if let id = UUID(uuidString: rawOrganization) {
            try await store.organization(id: id)
        } else if rawOrganization == "default" {
            try await store.defaultOrganization()
        } else {
            try await store.organization(name: rawOrganization)
        }
        guard let organization = found, subject.map({ RBAC.can($0, .read, .organization(id: organization.id)) }) ?? true else {
            throw APIError.resourceNotFound
        }
        let organizationID = organization.id

        // Parameters, with Coder's messages.
        let provisioners = query.getAll("provisioner")
        guard !provisioners.isEmpty else { throw APIError(.badRequest, "The provisioner query parameter must be specified.") }
        for provisioner in provisioners where !Self.knownProvisioners.contains(provisioner) {
            throw APIError(.badRequest, "Unknown provisioner type \"\(provisioner)\"")
        }
        var tags: [String: String]
        do {
            tags = try ProvisionerTagList.parse(query.getAll("tag"))
        } catch {
            throw APIError(.badRequest, error.description)
        }
        tags = ProvisionerTags.normalize(tags, userID: subject?.userID ?? (tags["scope"] == "user" ? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) : nil))
        if let subject, tags[ProvisionerTags.scope] == ProvisionerTags.organizationScope,
           !RBAC.can(subject, .create, .provisionerDaemons(organization: organizationID)) {
            throw APIError(.forbidden, "You aren't allowed to create provisioner daemons for the organization.")
        }
        let name = query["name"].flatMap { $0.isEmpty ? nil : String($0) } ?? "daemon-\(Tokens.random(8).lowercased())"
        guard name.count <= 64, !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError(.badRequest, "Invalid daemon name.", validations: [.init(field: "name", detail: "at most 64 characters, no control characters")])
        }
        let instanceID = query[ProvisionerServe.instanceIDParameter[...]].map(String.init) ?? ""
        guard instanceID.utf8.count <= ProvisionerServe.maxInstanceIDBytes,
              !instanceID.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw APIError(.badRequest, "Invalid instance id.", validations: [.init(field: ProvisionerServe.instanceIDParameter, detail: "at most \(ProvisionerServe.maxInstanceIDBytes) printable characters")])
        }

        // The name belongs to the credential that registered it: the scope, and for a user daemon
        // the user (with the PSK, the nil user).
        let isUserScoped = tags[ProvisionerTags.scope] == ProvisionerTags.userScope
        let ownership = DaemonOwnership(
            scope: isUserScoped ? ProvisionerTags.userScope : ProvisionerTags.organizationScope,
            ownerID: isUserScoped ? (tags[ProvisionerTags.owner].flatMap(UUID.init(uuidString:))) : nil
        )
        let version = request.headers[Self.buildVersionHeader] ?? ""
        guard version.utf8.count <= 128, !version.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError(.badRequest, "Invalid daemon version.", validations: [.init(field: ProvisionerServe.buildVersionHeader, detail: "at most 128 printable characters")])
        }
        let connectionID = UUID()
        // The per-user cap counts a user's own daemons: those registered with their token. A user
        // daemon registered with the PSK belongs to no user (the nil owner) and counts for the
        // organization only.
        var caps = services.daemonCaps
        if subject == nil || !isUserScoped { caps.perUser = nil }
        // The token's user is the actor (this route authenticates itself; the context has no subject).
        var actor = context
        actor.subject = subject
        let audit = self.audit.trail(request, actor)
        let credential: JSONValue = .object(["credential": .string(subject == nil ? "psk" : "session_token")])
        let outcome = try await store.registerDaemon(DaemonRegistration(
            name: name, organizationID: organization.id, ownership: ownership, instanceID: instanceID, connectionID: connectionID,
            provisioners: provisioners.sorted(), tags: tags, replicaID: services.replicaID,
            version: version
        ), liveness: services.connections.liveness, caps: caps) { old, new in
            try audit.record(
                .provisionerDaemon, id: new.id, target: new.name, action: old == nil ? .create : .write,
                old: old.map(AuditedDaemon.init), new: AuditedDaemon(new), secretFields: AuditedDaemon.secretFields,
                organization: new.organizationID, status: .switchingProtocols, additionalFields: credential
            )
        }
        let record: ProvisionerDaemonRecord
        switch outcome {
        case .registered(let registered, _):
            record = registered
        case .heldByAnotherOwner(let holder):
            throw APIError(
                .conflict, "A provisioner daemon named \"\(name)\" is already registered in this organization by another owner.",
                detail: "That name belongs to a daemon of \(holder.scope) scope\(holder.ownerID == nil ? "" : " owned by another user"). Choose another name with --name."
            )
        case .connectedElsewhere:
            throw APIError(
                .conflict, "A provisioner daemon named \"\(name)\" is already connected from another process.",
                detail: "Two daemons are using the same name (the same default host name, or a copied configuration). Give each its own name with --name."
            )
        case .capReached(.user(let limit)):
            throw APIError(
                .tooManyRequests, "You already have \(limit) provisioner daemons connected to this organization, the most one user may run.",
                detail: "Stop one of them and connect again, or ask an operator to raise --provisioner-daemons-per-user."
            )
        case .capReached(.userNames(let limit)):
            throw APIError(
                .tooManyRequests, "You already hold \(limit) provisioner daemon names in this organization, the most one user may.",
                detail: "Connect under one of your daemons' names again (--name), or wait for the names of daemons long gone to be purged (--provisioner-daemon-retention); the limit is ten times --provisioner-daemons-per-user."
            )
        case .capReached(.organization(let limit)):
            throw APIError(
                .tooManyRequests, "This organization already has \(limit) provisioner daemons connected, the most it may have.",
                detail: "Stop one of them and connect again, or ask an operator to raise --provisioner-daemons-per-organization."
            )
        }
        let session = DaemonSession(
            identity: DaemonIdentity(id: record.id, connectionID: connectionID, instanceID: instanceID, name: name, organizationID: organization.id, provisioners: provisioners, tags: tags),
            replicaID: services.replicaID, store: store, acquirer: services.acquirer, logLimits: services.logLimits,
            quotaCommits: services.quotaCommits, logger: logger
        )
        let logger = self.logger
        let tokenSubject = subject
        // What this connection needed of its user, asked again whenever their roles or status
        // change: membership of the organization, and for an organization daemon the right to
        // run the organization's daemons (owners, template admins).
        let organizationScoped = tags[ProvisionerTags.scope] == ProvisionerTags.organizationScope
        let permission: AuthenticatedSockets.Permission = { subject in
            RBAC.can(subject, .read, .organization(id: organizationID))
                && (!organizationScoped || RBAC.can(subject, .create, .provisionerDaemons(organization: organizationID)))
        }
        let connections = services.connections
        let sockets = authenticator.sockets
        let messageLimit = services.webSocket.maxMessageSize
        return WebSocketAcceptance(configuration: services.webSocket) { connection in
            logger.info("provisioner daemon connected", metadata: ["daemon": "\(name)", "id": "\(record.id)", "connection": "\(connectionID)"])
            _ = try? await connection.run { inbound, outbound in
                let close: @Sendable (String) async -> Void = { reason in
                    try? await outbound.close(code: .policyViolation, reason: String(reason.utf8.prefix(120)) ?? "closed")
                }
                connections.register(session, close: close)
                let socket = tokenSubject.map { sockets.register($0, authenticatedAt: authenticatedAt, requires: permission, close: close) }
                defer {
                    connections.remove(session)
                    if let socket { sockets.remove(socket) }
                }
                let texts = DaemonTexts(inbound: inbound)
                do {
                    try await session.run(inbound: texts) { text in try await outbound.send(text: text) }
                } catch DaemonSession.Failure.protocolViolation(let reason) {
                    try? await outbound.close(code: .policyViolation, reason: String(reason.utf8.prefix(120)) ?? "protocol violation")
                } catch DaemonSession.Failure.unsupportedVersion {
                    try? await outbound.close(code: .policyViolation, reason: "unsupported protocol version")
                } catch is DaemonTexts.BinaryMessage {
                    try? await outbound.close(code: .unsupportedData, reason: "the protocol uses text frames")
                }
            }
            let status = await connection.closeStatus
            await session.end(status.code == .messageTooBig ? .messageTooBig(limit: messageLimit) : .closed)
            logger.info("provisioner daemon disconnected", metadata: ["daemon": "\(name)", "connection": "\(connectionID)", "close": "\(status)"])
        }
    }
}

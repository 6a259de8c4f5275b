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

/// What the provisioner endpoints need from the running replica.
public struct ProvisionerServices: Sendable {
    public let acquirer: JobAcquirer
    public let connections: DaemonConnections
    public let pubsub: Pubsub
    public let replicaID: UUID
    /// `--provisioner-daemon-psk`; nil when external daemons may only use session tokens.
    public let preSharedKey: String?
    public let webSocket: WebSocketConfiguration
    public let logLimits: JobLogLimits
    /// The replica's quota commits; whether quotas are enforced, the composition root answers
    /// from the licensing (`quotaEnforced`).
    public let quotaCommits: QuotaCommits
    /// `--provisioner-daemons-per-user` and `--provisioner-daemons-per-organization`.
    public let daemonCaps: DaemonCaps

    public init(
        acquirer: JobAcquirer, connections: DaemonConnections, pubsub: Pubsub, replicaID: UUID, preSharedKey: String?, webSocket: WebSocketConfiguration,
        logLimits: JobLogLimits = JobLogLimits(), daemonCaps: DaemonCaps = DaemonCaps(), quotaEnforced: @escaping @Sendable () -> Bool = { false }
    ) {
        self.daemonCaps = daemonCaps
        self.acquirer = acquirer
        self.connections = connections
        self.pubsub = pubsub
        self.replicaID = replicaID
        self.preSharedKey = preSharedKey
        self.webSocket = webSocket
        self.logLimits = logLimits
        self.quotaCommits = QuotaCommits(enforced: quotaEnforced)
    }
}

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

    /// What the audit log shows of a daemon. Its `instance_id` (which lets a reconnect replace a
    /// live connection) shows only that it changed.
    struct AuditedDaemon: Encodable {
        let id: UUID
        let name: String
        let organization_id: UUID
        let provisioners: [String]
        let tags: [String: String]
        let version: String
        let scope: String
        let owner_id: UUID?
        let instance_id: String
        let replica_id: UUID?
        let connection_id: UUID?
        let connected: Bool

        static let secretFields: Set<String> = ["instance_id"]

        init(_ daemon: ProvisionerDaemonRecord) {
            id = daemon.id
            name = daemon.name
            organization_id = daemon.organizationID
            provisioners = daemon.provisioners
            tags = daemon.tags
            version = daemon.version
            scope = daemon.ownership.scope
            owner_id = daemon.ownership.ownerID
            instance_id = daemon.instanceID
            replica_id = daemon.replicaID
            connection_id = daemon.connectionID
            connected = daemon.connected
        }
    }

    struct DaemonJSON: ResponseEncodable {
        struct NullTime: Encodable {
            let time: String
            let valid: Bool
        }
        let id: UUID
        let created_at: Date
        let updated_at: NullTime
        let name: String
        let provisioners: [String]
        let tags: [String: String]
        let last_seen_at: Date?
        let status: String
        let replica_id: UUID?
        let current_job_id: UUID?
        let version: String

        init(_ daemon: ProvisionerDaemonRecord) {
            id = daemon.id
            created_at = daemon.createdAt
            updated_at = NullTime(time: daemon.updatedAt.map(RFC3339.string(from:)) ?? "0001-01-01T00:00:00Z", valid: daemon.updatedAt != nil)
            name = daemon.name
            provisioners = daemon.provisioners
            tags = daemon.tags
            last_seen_at = daemon.lastSeenAt
            status = !daemon.connected ? "offline" : (daemon.currentJobID == nil ? "idle" : "busy")
            replica_id = daemon.replicaID
            current_job_id = daemon.currentJobID
            version = daemon.version
        }
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        // Authenticated by the pre-shared key or a session token: its own rule, so before the
        // authentication middleware.
        routes.webSocket("organizations/:organization/provisionerdaemons/serve", accept: serve)
        routes.add(middleware: guards.authentication)
        routes.get("organizations/:organization/provisionerdaemons") { _, context in
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
        let audit = self.audit
        // The token's user is the actor (this route authenticates itself; the context has no subject).
        var actor = context
        actor.subject = subject
        let auditContext = actor
        let credential: JSONValue = .object(["credential": .string(subject == nil ? "psk" : "session_token")])
        let outcome = try await store.registerDaemon(DaemonRegistration(
            name: name, organizationID: organization.id, ownership: ownership, instanceID: instanceID, connectionID: connectionID,
            provisioners: provisioners.sorted(), tags: tags, replicaID: services.replicaID,
            version: version
        ), liveness: services.connections.liveness, caps: caps) { old, new in
            try audit.entry(
                request, auditContext, resourceType: .provisionerDaemon, resourceID: new.id, target: new.name, action: old == nil ? .create : .write,
                old: old.map(AuditedDaemon.init), new: AuditedDaemon(new), secretFields: AuditedDaemon.secretFields,
                organizationID: new.organizationID, status: .switchingProtocols, additionalFields: credential
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

/// The text messages of a connection; a binary message ends it (the protocol is text only).
struct DaemonTexts: AsyncSequence, Sendable {
    struct BinaryMessage: Error, Equatable {}
    typealias Element = String
    let inbound: WebSocketInbound

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: WebSocketInbound.AsyncIterator
        mutating func next() async throws -> String? {
            switch try await base.next() {
            case .text(let text): return text
            case .binary: throw BinaryMessage()
            case nil: return nil
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: inbound.makeAsyncIterator()) }
}

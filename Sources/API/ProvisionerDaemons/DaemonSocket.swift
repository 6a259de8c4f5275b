import Foundation
import Logging
import Provisioning
import Store
import WebSocket

/// A registered daemon's connection, once the 101 is out: its `DaemonSession` serves the protocol
/// until either end stops. Meanwhile the connection is registered with `DaemonConnections` and,
/// for a token, with `AuthenticatedSockets`, either of which may close it.
struct DaemonSocket: Sendable {
    let session: DaemonSession
    let credential: DaemonCredential
    /// What this connection needed of its user, asked again whenever their roles or status
    /// change: membership of the organization, and for an organization daemon the right to
    /// run the organization's daemons (owners, template admins).
    let permission: AuthenticatedSockets.Permission
    let connections: DaemonConnections
    let sockets: AuthenticatedSockets
    /// The largest message: a session that a too-big message ended (close 1009) is told it.
    let messageLimit: Int
    let logger: Logger

    init(
        record: ProvisionerDaemonRecord, request: DaemonServeRequest, connectionID: UUID, organizationID: UUID, credential: DaemonCredential,
        store: Store, services: ProvisionerServices, sockets: AuthenticatedSockets, logger: Logger
    ) {
        session = DaemonSession(
            identity: DaemonIdentity(id: record.id, connectionID: connectionID, instanceID: request.instanceID, name: request.name, organizationID: organizationID, provisioners: request.provisioners, tags: request.tags),
            replicaID: services.replicaID, store: store, acquirer: services.acquirer, logLimits: services.logLimits,
            quotaCommits: services.quotaCommits, jobHangTimeout: services.jobHangTimeout, logger: logger
        )
        self.credential = credential
        let organizationScoped = request.isOrganizationScoped
        permission = { subject in
            RBAC.can(subject, .read, .organization(id: organizationID))
                && (!organizationScoped || RBAC.can(subject, .create, .provisionerDaemons(organization: organizationID)))
        }
        connections = services.connections
        self.sockets = sockets
        messageLimit = services.webSocket.maxMessageSize
        self.logger = logger
    }

    func run(_ connection: WebSocketConnection) async {
        let identity = session.identity
        logger.info("provisioner daemon connected", metadata: ["daemon": "\(identity.name)", "id": "\(identity.id)", "connection": "\(identity.connectionID)"])
        _ = try? await connection.run { inbound, outbound in
            let close: @Sendable (String) async -> Void = { reason in
                try? await outbound.close(code: .policyViolation, reason: String(reason.utf8.prefix(120)) ?? "closed")
            }
            connections.register(session, close: close)
            let socket = credential.subject.map { sockets.register($0, authenticatedAt: credential.authenticatedAt, requires: permission, close: close) }
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
        logger.info("provisioner daemon disconnected", metadata: ["daemon": "\(identity.name)", "connection": "\(identity.connectionID)", "close": "\(status)"])
    }
}

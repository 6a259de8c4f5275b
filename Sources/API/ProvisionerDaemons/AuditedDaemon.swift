import Foundation
import Store

extension ProvisionerDaemonsController {
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
}

import Foundation
import Hummingbird
import Store
import WireFormat

extension ProvisionerDaemonsController {
    /// A daemon as Coder lists it.
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
        /// Ours, additive: what each provisioner runs, as the daemon's `hello` said.
        let provisioner_versions: [String: String]

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
            provisioner_versions = daemon.provisionerVersions
        }
    }
}

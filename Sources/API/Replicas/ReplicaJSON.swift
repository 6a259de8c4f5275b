import Foundation
import Store

extension ReplicasController {
    /// One replica in `GET /replicas`, as Coder's `codersdk.Replica`.
    struct ReplicaJSON: Encodable {
        let id: UUID
        let hostname: String
        let created_at: Date
        let relay_address: String
        let region_id: Int32
        let error: String
        let database_latency: Int32
        let version: String
        let started_at: Date
        let updated_at: Date

        init(_ replica: Replica) {
            id = replica.id
            hostname = replica.hostname
            created_at = replica.createdAt
            relay_address = replica.relayAddress
            region_id = replica.regionID
            error = replica.error
            database_latency = replica.databaseLatency
            version = replica.version
            started_at = replica.startedAt
            updated_at = replica.updatedAt
        }
    }
}

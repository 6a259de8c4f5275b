import Foundation
import Hummingbird
import Replicas
import Store

/// `GET /api/v2/replicas` (owners only) served from the membership snapshot. The JSON is encoded
/// once per snapshot generation, not per request: dashboards poll this endpoint hard.
final class ReplicasController: ResourceController {
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

    let membership: ReplicaMembership
    private let encoded = EncodedBodyCache<UInt64>()

    init(membership: ReplicaMembership) {
        self.membership = membership
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: guards.authentication)
        routes.get("replicas") { _, context in
            try context.authorize(.read, .replicas)
            return JSON.bytes(try self.body())
        }
        return routes
    }

    private func body() throws -> ByteBuffer {
        let snapshot = membership.snapshot
        return try encoded.body(for: snapshot.generation) { try JSON.encode(snapshot.replicas.map(ReplicaJSON.init)) }
    }
}

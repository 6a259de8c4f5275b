import Foundation
import Hummingbird
import Replicas
import Store

/// `GET /api/v2/replicas` (owners only) served from the membership snapshot. The JSON is encoded
/// once per snapshot generation, not per request: dashboards poll this endpoint hard. A replica
/// as it is shown is `ReplicaJSON`.
final class ReplicasController: ResourceController {
    let membership: ReplicaMembership
    private let encoded = EncodedBodyCache<UInt64>()

    init(membership: ReplicaMembership) {
        self.membership = membership
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("replicas") { _, context in
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

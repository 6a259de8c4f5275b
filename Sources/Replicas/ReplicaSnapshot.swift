import Foundation
import Store

/// The live set as this replica sees it. `generation` grows with every change, so readers can
/// cache anything derived from it (the encoded `/replicas` body) until it moves.
public struct ReplicaSnapshot: Sendable, Equatable {
    public var generation: UInt64
    public var replicas: [Replica]

    public static let empty = ReplicaSnapshot(generation: 0, replicas: [])

    /// Merges what the database says with what this replica knows first-hand about itself: its
    /// own entry is always present (even while the database is unreachable) and carries its
    /// current error, which may be newer than its last heartbeat.
    static func merge(database: [Replica], me: Replica) -> [Replica] {
        var replicas = database.filter { $0.id != me.id }
        replicas.append(me)
        return replicas.sorted { ($0.createdAt, $0.id.uuidString) < ($1.createdAt, $1.id.uuidString) }
    }
}

/// Composes the `error` a replica reports from its independent sources, in a stable order.
struct ReplicaErrors: Sendable, Equatable {
    var database = ""
    var pubsub = ""
    var relay = ""

    var text: String { [database, pubsub, relay].filter { !$0.isEmpty }.joined(separator: "; ") }

    /// Coder's wording: `Failed to dial peers: relay <host> (<addr>): <err>, ...`.
    static func relayText(failures: [(hostname: String, address: String, error: String)]) -> String {
        guard !failures.isEmpty else { return "" }
        let sorted = failures.sorted { ($0.hostname, $0.address) < ($1.hostname, $1.address) }
        return "Failed to dial peers: " + sorted.map { "relay \($0.hostname) (\($0.address)): \($0.error)" }.joined(separator: ", ")
    }
}

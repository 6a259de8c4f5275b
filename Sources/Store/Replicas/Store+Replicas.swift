import Foundation
import Postgres

extension Store {
    /// The advisory-lock class of replica liveness locks (`pg_advisory_lock(class, lock_key)`).
    public static let replicaLockClass: Int32 = 0x5245_504C // "REPL"

    /// Inserts or refreshes this replica's row with the database's clock. Re-creates a row that a
    /// peer deleted, and clears `stopped_at` (a replica that heartbeats is running).
    @discardableResult
    public func heartbeat(_ beat: ReplicaHeartbeat) async throws -> Replica {
        try await pool.withConnection { try await $0.require(Replicas.heartbeat(beat)) }
    }

    public func markReplicaStopped(id: UUID) async throws {
        try await pool.execute(Replicas.markStopped(id: id))
    }

    /// Replicas that are running now: not stopped, heartbeat within three of their own intervals
    /// (by the database's clock), and their liveness lock held by a live backend.
    public func liveReplicas() async throws -> [Replica] {
        try await pool.all(Replicas.live)
    }

    public func replica(id: UUID) async throws -> Replica? {
        try await pool.one(Replicas.withID(id))
    }

    /// Deletes rows of replicas that have not heartbeated for `retention`.
    @discardableResult
    public func deleteOldReplicas(retention: Duration) async throws -> Int {
        try await pool.execute(Replicas.deleteOld(retention: retention))
    }

    /// Takes the session-level liveness lock on `connection` (which must stay open for as long as
    /// the replica lives). False if another session holds the same key.
    public static func tryReplicaLock(_ key: Int32, on connection: DatabaseConnection) async throws -> Bool {
        try await connection.one(Replicas.tryLock(key)) ?? false
    }

    /// Confirms that `connection` still holds the lock (and is alive).
    public static func holdsReplicaLock(_ key: Int32, on connection: DatabaseConnection) async throws -> Bool {
        try await connection.one(Replicas.holdsLock(key)) ?? false
    }
}

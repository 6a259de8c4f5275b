import Foundation
import Postgres

extension Store {
    /// The advisory-lock class of replica liveness locks (`pg_advisory_lock(class, lock_key)`).
    public static let replicaLockClass: Int32 = 0x5245_504C // "REPL"

    static let replicaColumns = """
        id, created_at, started_at, stopped_at, updated_at, hostname, region_id, relay_address, version,
        database_latency, error
        """

    static func replica(from row: PostgresRow) throws -> Replica {
        Replica(
            id: try row.decode(0), createdAt: try row.decode(1), startedAt: try row.decode(2),
            stoppedAt: try row.decode(3, as: Date?.self), updatedAt: try row.decode(4), hostname: try row.decode(5),
            regionID: try row.decode(6), relayAddress: try row.decode(7), version: try row.decode(8),
            databaseLatency: try row.decode(9), error: try row.decode(10)
        )
    }

    /// Inserts or refreshes this replica's row with the database's clock. Re-creates a row that a
    /// peer deleted, and clears `stopped_at` (a replica that heartbeats is running).
    @discardableResult
    public func heartbeat(_ beat: ReplicaHeartbeat) async throws -> Replica {
        let row = try await pool.query(
            """
            INSERT INTO replicas (id, started_at, hostname, region_id, relay_address, version, database_latency, error,
                                  heartbeat_interval_ms, lock_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO UPDATE SET
                updated_at = now(), stopped_at = NULL, hostname = $3, region_id = $4, relay_address = $5, version = $6,
                database_latency = $7, error = $8, heartbeat_interval_ms = $9, lock_key = $10
            RETURNING \(Self.replicaColumns)
            """,
            [beat.id, beat.startedAt, beat.hostname, beat.regionID, beat.relayAddress, beat.version,
             beat.databaseLatency, beat.error, beat.heartbeatIntervalMilliseconds, beat.lockKey]
        ).first
        return try Self.replica(from: row!)
    }

    public func markReplicaStopped(id: UUID) async throws {
        try await pool.query("UPDATE replicas SET stopped_at = now(), updated_at = now() WHERE id = $1", [id])
    }

    /// Replicas that are running now: not stopped, heartbeat within three of their own intervals
    /// (by the database's clock), and their liveness lock held by a live backend.
    public func liveReplicas() async throws -> [Replica] {
        try await pool.query(
            """
            SELECT \(Self.replicaColumns) FROM replicas r
            WHERE r.stopped_at IS NULL
              AND r.updated_at > now() - r.heartbeat_interval_ms * 3 * interval '1 millisecond'
              AND EXISTS (
                  SELECT 1 FROM pg_locks l
                  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                    AND l.classid = $1::int4::oid AND l.objid = r.lock_key::oid
                    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              )
            ORDER BY r.created_at, r.id
            """,
            [Self.replicaLockClass]
        ).rows.map(Self.replica(from:))
    }

    public func replica(id: UUID) async throws -> Replica? {
        try await pool.query("SELECT \(Self.replicaColumns) FROM replicas WHERE id = $1", [id]).first.map(Self.replica(from:))
    }

    /// Deletes rows of replicas that have not heartbeated for `retention`.
    @discardableResult
    public func deleteOldReplicas(retention: Duration) async throws -> Int {
        try await pool.query(
            "DELETE FROM replicas WHERE updated_at < now() - $1 * interval '1 millisecond'",
            [retention.components.seconds * 1000 + retention.components.attoseconds / 1_000_000_000_000_000]
        ).affectedRows
    }

    /// Takes the session-level liveness lock on `connection` (which must stay open for as long as
    /// the replica lives). False if another session holds the same key.
    public static func tryReplicaLock(_ key: Int32, on connection: DatabaseConnection) async throws -> Bool {
        try await connection.query("SELECT pg_try_advisory_lock($1, $2)", [replicaLockClass, key]).first?.decode(0, as: Bool.self) ?? false
    }

    /// Confirms that `connection` still holds the lock (and is alive).
    public static func holdsReplicaLock(_ key: Int32, on connection: DatabaseConnection) async throws -> Bool {
        try await connection.query(
            """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                           AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2)
            """,
            [replicaLockClass, key]
        ).first?.decode(0, as: Bool.self) ?? false
    }
}

import Foundation
import Postgres

public struct Replica: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var startedAt: Date
    public var stoppedAt: Date?
    public var updatedAt: Date
    public var hostname: String
    public var regionID: Int32
    public var relayAddress: String
    public var version: String
    /// Microseconds.
    public var databaseLatency: Int32
    public var error: String

    public init(id: UUID, createdAt: Date, startedAt: Date, stoppedAt: Date? = nil, updatedAt: Date, hostname: String, regionID: Int32, relayAddress: String, version: String, databaseLatency: Int32, error: String) {
        self.id = id
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
        self.updatedAt = updatedAt
        self.hostname = hostname
        self.regionID = regionID
        self.relayAddress = relayAddress
        self.version = version
        self.databaseLatency = databaseLatency
        self.error = error
    }
}

/// What a replica writes about itself at every heartbeat.
public struct ReplicaHeartbeat: Sendable, Equatable {
    public var id: UUID
    public var startedAt: Date
    public var hostname: String
    public var regionID: Int32
    public var relayAddress: String
    public var version: String
    public var databaseLatency: Int32
    public var error: String
    public var heartbeatIntervalMilliseconds: Int32
    public var lockKey: Int32

    public init(id: UUID, startedAt: Date, hostname: String, regionID: Int32, relayAddress: String, version: String, databaseLatency: Int32, error: String, heartbeatIntervalMilliseconds: Int32, lockKey: Int32) {
        self.id = id
        self.startedAt = startedAt
        self.hostname = hostname
        self.regionID = regionID
        self.relayAddress = relayAddress
        self.version = version
        self.databaseLatency = databaseLatency
        self.error = error
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.lockKey = lockKey
    }
}

/// The `replicas` table's statements, and the liveness locks beside it.
enum Replicas {
    /// Unqualified: every statement reads `replicas` alone (aliased `r` where it is filtered).
    private static let columns = """
        id, created_at, started_at, stopped_at, updated_at, hostname, region_id, relay_address, version,
        database_latency, error
        """

    private static func replica(_ row: PostgresRow) throws -> Replica {
        Replica(
            id: try row.decode("id"), createdAt: try row.decode("created_at"), startedAt: try row.decode("started_at"),
            stoppedAt: try row.decode("stopped_at", as: Date?.self), updatedAt: try row.decode("updated_at"), hostname: try row.decode("hostname"),
            regionID: try row.decode("region_id"), relayAddress: try row.decode("relay_address"), version: try row.decode("version"),
            databaseLatency: try row.decode("database_latency"), error: try row.decode("error")
        )
    }

    /// Inserts or refreshes the row with the database's clock; re-creates a row a peer deleted
    /// and clears `stopped_at`.
    static func heartbeat(_ beat: ReplicaHeartbeat) -> PostgresQuery<Replica> {
        PostgresQuery(
            """
            INSERT INTO replicas (id, started_at, hostname, region_id, relay_address, version, database_latency, error,
                                  heartbeat_interval_ms, lock_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO UPDATE SET
                updated_at = now(), stopped_at = NULL, hostname = $3, region_id = $4, relay_address = $5, version = $6,
                database_latency = $7, error = $8, heartbeat_interval_ms = $9, lock_key = $10
            RETURNING \(columns)
            """,
            [beat.id, beat.startedAt, beat.hostname, beat.regionID, beat.relayAddress, beat.version,
             beat.databaseLatency, beat.error, beat.heartbeatIntervalMilliseconds, beat.lockKey],
            decode: replica
        )
    }

    static func markStopped(id: UUID) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE replicas SET stopped_at = now(), updated_at = now() WHERE id = $1", [id])
    }

    /// Not stopped, heartbeat within three of their own intervals (by the database's clock), and
    /// their liveness lock held by a live backend.
    static let live = PostgresQuery(
        """
        SELECT \(columns) FROM replicas r
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
        [Store.replicaLockClass],
        decode: replica
    )

    static func withID(_ id: UUID) -> PostgresQuery<Replica> {
        PostgresQuery("SELECT \(columns) FROM replicas WHERE id = $1", [id], decode: replica)
    }

    static func deleteOld(retention: Duration) -> PostgresQuery<Void> {
        PostgresQuery("DELETE FROM replicas WHERE updated_at < now() - $1 * interval '1 millisecond'", [retention.milliseconds])
    }

    static func tryLock(_ key: Int32) -> PostgresQuery<Bool> {
        PostgresQuery("SELECT pg_try_advisory_lock($1, $2) AS locked", [Store.replicaLockClass, key], column: "locked")
    }

    /// Whether this session (this connection) holds the lock.
    static func holdsLock(_ key: Int32) -> PostgresQuery<Bool> {
        PostgresQuery(
            """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                           AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2) AS held
            """,
            [Store.replicaLockClass, key],
            column: "held"
        )
    }
}

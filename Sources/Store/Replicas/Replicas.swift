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
    private static let columns: SQL = """
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
        // The values the insert writes and the update rewrites are one parameter each (`Bind`).
        let hostname = SQL.Bind(beat.hostname), regionID = SQL.Bind(beat.regionID), relayAddress = SQL.Bind(beat.relayAddress)
        let version = SQL.Bind(beat.version), databaseLatency = SQL.Bind(beat.databaseLatency), error = SQL.Bind(beat.error)
        let interval = SQL.Bind(beat.heartbeatIntervalMilliseconds), lockKey = SQL.Bind(beat.lockKey)
        return PostgresQuery(
            """
            INSERT INTO replicas (id, started_at, hostname, region_id, relay_address, version, database_latency, error,
                                  heartbeat_interval_ms, lock_key)
            VALUES (\(beat.id), \(beat.startedAt), \(hostname), \(regionID), \(relayAddress), \(version), \(databaseLatency), \(error),
                    \(interval), \(lockKey))
            ON CONFLICT (id) DO UPDATE SET
                updated_at = now(), stopped_at = NULL, hostname = \(hostname), region_id = \(regionID), relay_address = \(relayAddress),
                version = \(version), database_latency = \(databaseLatency), error = \(error), heartbeat_interval_ms = \(interval),
                lock_key = \(lockKey)
            RETURNING \(columns)
            """,
            decode: replica
        )
    }

    static func markStopped(id: UUID) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE replicas SET stopped_at = now(), updated_at = now() WHERE id = \(id)")
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
                AND l.classid = \(Store.replicaLockClass)::int4::oid AND l.objid = r.lock_key::oid
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          )
        ORDER BY r.created_at, r.id
        """,
        decode: replica
    )

    static func withID(_ id: UUID) -> PostgresQuery<Replica> {
        PostgresQuery("SELECT \(columns) FROM replicas WHERE id = \(id)", decode: replica)
    }

    static func deleteOld(retention: Duration) -> PostgresQuery<Void> {
        PostgresQuery("DELETE FROM replicas WHERE updated_at < now() - \(retention.milliseconds) * interval '1 millisecond'")
    }

    static func tryLock(_ key: Int32) -> PostgresQuery<Bool> {
        PostgresQuery("SELECT pg_try_advisory_lock(\(Store.replicaLockClass), \(key)) AS locked", column: "locked")
    }

    /// Whether this session (this connection) holds the lock.
    static func holdsLock(_ key: Int32) -> PostgresQuery<Bool> {
        PostgresQuery(
            """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                           AND classid = \(Store.replicaLockClass)::int4::oid AND objid = \(key)::int4::oid AND objsubid = 2) AS held
            """,
            column: "held"
        )
    }
}

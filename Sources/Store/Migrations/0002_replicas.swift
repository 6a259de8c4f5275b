import Postgres

extension Schema {
    /// One row per replica process. Liveness is decided in SQL against the database's clock:
    /// not stopped, heartbeat fresher than three of its own intervals, and its session advisory
    /// lock (class `Store.replicaLockClass`, object `lock_key`) still held by a live backend.
    static let replicas = Migration(version: 2, name: "replicas", sql: """
        CREATE TABLE replicas (
            id uuid PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz NOT NULL,
            stopped_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now(),
            hostname text NOT NULL,
            region_id integer NOT NULL,
            relay_address text NOT NULL,
            version text NOT NULL,
            database_latency integer NOT NULL,
            error text NOT NULL DEFAULT '',
            heartbeat_interval_ms integer NOT NULL CHECK (heartbeat_interval_ms > 0),
            lock_key integer NOT NULL CHECK (lock_key > 0)
        );
        CREATE INDEX replicas_updated_at ON replicas (updated_at);
        """)
}

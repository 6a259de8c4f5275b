import Postgres

extension Schema {
    /// Daemon identity bound to its credential, leases fenced by connection, bounded work per job.
    ///
    /// - A daemon row belongs to the scope and owner that registered it (`owner_id` is NULL for
    ///   organization daemons); `instance_id` is the process that holds the name, `connection_id`
    ///   the connection it is on now. Only that connection's replica refreshes `last_seen_at`.
    /// - A job's lease also names the connection that holds it (`lease_connection_id`), so a
    ///   connection that ends late (half-open on a replica that noticed only now) cannot start the
    ///   grace period of a job that a newer connection has already resumed; and the daemon process
    ///   (`lease_instance_id`), so that only that process's later connections reclaim it.
    /// - `deliveries` counts hand-overs since the job's last update; past the limit the job fails
    ///   instead of going back to the queue.
    /// - `log_lines` and `log_bytes` count what the job has logged, against the per-job cap.
    /// - Costs are summed in 64 bits.
    static let hardening = Migration(version: 4, name: "hardening", sql: """
        ALTER TABLE provisioner_daemons
            ADD COLUMN scope text NOT NULL DEFAULT 'organization' CHECK (scope IN ('organization', 'user')),
            ADD COLUMN owner_id uuid,
            ADD COLUMN instance_id text NOT NULL DEFAULT '',
            ADD COLUMN connection_id uuid;
        UPDATE provisioner_daemons SET scope = 'user', owner_id = NULLIF(tags->>'owner', '')::uuid WHERE tags->>'scope' = 'user';
        CREATE INDEX provisioner_daemons_connection ON provisioner_daemons (connection_id) WHERE connection_id IS NOT NULL;

        ALTER TABLE provisioner_jobs
            ADD COLUMN lease_connection_id uuid,
            ADD COLUMN lease_instance_id text,
            ADD COLUMN deliveries integer NOT NULL DEFAULT 0,
            ADD COLUMN log_lines integer NOT NULL DEFAULT 0,
            ADD COLUMN log_bytes bigint NOT NULL DEFAULT 0,
            ADD COLUMN logs_truncated boolean NOT NULL DEFAULT false;
        CREATE INDEX provisioner_jobs_lease_connection ON provisioner_jobs (lease_connection_id) WHERE completed_at IS NULL;

        ALTER TABLE workspace_builds ALTER COLUMN daily_cost TYPE bigint;
        -- Costs were not checked before: a negative one becomes 0 rather than stop the migration.
        UPDATE workspace_resources SET daily_cost = 0 WHERE daily_cost < 0;
        ALTER TABLE workspace_resources ADD CONSTRAINT workspace_resources_daily_cost_range
            CHECK (daily_cost >= 0);
        """)
}

import Postgres

extension Schema {
    /// Retention (`Store.purge`): a job's log lines are purged once, and marked so, so that later
    /// purges skip it; each purge finds its rows through an index that starts with its cut-off
    /// column. Additive only: a replica of the previous version ignores the new column.
    static let retention = Migration(version: 10, name: "retention", sql: """
        ALTER TABLE provisioner_jobs ADD COLUMN logs_purged_at timestamptz;
        CREATE INDEX provisioner_jobs_logs_unpurged ON provisioner_jobs (completed_at) WHERE completed_at IS NOT NULL AND logs_purged_at IS NULL;
        CREATE INDEX provisioner_daemons_last_seen ON provisioner_daemons ((coalesce(last_seen_at, created_at))) WHERE NOT connected;
        """)
}

import Postgres

extension Schema {
    /// Daemon names keyed by organization, name and owner, as Coder's
    /// `idx_provisioner_daemons_org_name_owner_key` (its owner tag, `''` for organization daemons):
    /// a member's user daemon no longer holds a name against the organization's daemons or other
    /// users' daemons. `owner_id` is NULL for organization daemons and a user's id (the nil UUID
    /// with the PSK) for user daemons, so `COALESCE(owner_id::text, '')` is Coder's key.
    ///
    /// Safe on existing data: rows unique on (organization, name) are unique on the finer key; the
    /// new index is built before the old constraint goes, in one transaction. Nothing is dropped
    /// but that constraint. A replica of the previous version names it in its `ON CONFLICT`, so
    /// while one still runs, a daemon connecting to it is refused (500) and reconnects elsewhere;
    /// daemons already connected, and everything else, are unaffected (`docs/operations.md`).
    static let daemonOwnerKey = Migration(version: 11, name: "daemon_owner_key", sql: """
        CREATE UNIQUE INDEX provisioner_daemons_org_name_owner_key
            ON provisioner_daemons (organization_id, name, (COALESCE(owner_id::text, '')));
        ALTER TABLE provisioner_daemons DROP CONSTRAINT provisioner_daemons_organization_id_name_key;
        """)
}

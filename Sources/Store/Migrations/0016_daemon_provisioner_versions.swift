import Postgres

extension Schema {
    /// What each daemon's `hello` says its provisioners run (`{"terraform": "1.11.4"}`), shown in
    /// the daemons list. Additive: an older replica neither reads nor writes it.
    static let daemonProvisionerVersions = Migration(version: 16, name: "daemon_provisioner_versions", sql: """
        ALTER TABLE provisioner_daemons ADD COLUMN provisioner_versions jsonb NOT NULL DEFAULT '{}';
        """)
}

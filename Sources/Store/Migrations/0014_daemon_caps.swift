import Postgres

extension Schema {
    /// The daemon caps count connected daemons per organization and per owner
    /// (`ProvisionerDaemons.connectedCount`): an index over connected rows only, so that a count
    /// reads the daemons connected now, not every name the organization has had. Additive.
    static let daemonCaps = Migration(version: 14, name: "daemon_caps", sql: """
        CREATE INDEX provisioner_daemons_connected ON provisioner_daemons (organization_id, owner_id) WHERE connected;
        """)
}

import Postgres

extension Schema {
    /// The daemon caps count per organization and per owner (`ProvisionerDaemons.connectedCount`,
    /// `namesOwned`): an index over connected rows only, so that a count of connected daemons
    /// reads the daemons connected now, not every name the organization has had; and one over
    /// user daemons' owners, for the names a user holds. Additive.
    static let daemonCaps = Migration(version: 14, name: "daemon_caps", sql: """
        CREATE INDEX provisioner_daemons_connected ON provisioner_daemons (organization_id, owner_id) WHERE connected;
        CREATE INDEX provisioner_daemons_owner ON provisioner_daemons (organization_id, owner_id) WHERE owner_id IS NOT NULL;
        """)
}

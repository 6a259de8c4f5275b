import Foundation
import Postgres

extension Store {
    static let daemonColumns = """
        id, created_at, updated_at, last_seen_at, name, organization_id, provisioners, tags::text, replica_id, version,
        current_job_id, connected
        """

    static func daemon(from row: PostgresRow) throws -> ProvisionerDaemonRecord {
        ProvisionerDaemonRecord(
            id: try row.decode(0), createdAt: try row.decode(1), updatedAt: try row.decode(2, as: Date?.self),
            lastSeenAt: try row.decode(3, as: Date?.self), name: try row.decode(4), organizationID: try row.decode(5),
            provisioners: try row.decode(6), tags: try decodeTags(try row.decode(7)), replicaID: try row.decode(8, as: UUID?.self),
            version: try row.decode(9), currentJobID: try row.decode(10, as: UUID?.self), connected: try row.decode(11)
        )
    }

    /// Registers a connecting daemon, keyed by organization and name: a daemon that reconnects
    /// (to any replica) keeps its id, which is what its job leases name.
    public func upsertDaemon(name: String, organizationID: UUID, provisioners: [String], tags: [String: String], replicaID: UUID, version: String) async throws -> ProvisionerDaemonRecord {
        let row = try await pool.query(
            """
            INSERT INTO provisioner_daemons (id, name, organization_id, provisioners, tags, replica_id, version, connected, last_seen_at, updated_at)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, true, now(), now())
            ON CONFLICT (organization_id, name) DO UPDATE SET
                provisioners = $4, tags = $5::jsonb, replica_id = $6, version = $7, connected = true,
                last_seen_at = now(), updated_at = now()
            RETURNING \(Self.daemonColumns)
            """,
            [UUID(), name, organizationID, provisioners, Self.encodeTags(tags), replicaID, version]
        ).first!
        return try Self.daemon(from: row)
    }

    public func daemonSeen(id: UUID) async throws {
        try await pool.query("UPDATE provisioner_daemons SET last_seen_at = now() WHERE id = $1", [id])
    }

    /// The daemon's connection ended on `replicaID` (unless it has already reconnected elsewhere).
    public func daemonDisconnected(id: UUID, replicaID: UUID) async throws {
        try await pool.query("UPDATE provisioner_daemons SET connected = false, last_seen_at = now() WHERE id = $1 AND replica_id = $2", [id, replicaID])
    }

    public func daemons(organizationID: UUID) async throws -> [ProvisionerDaemonRecord] {
        try await pool.query(
            "SELECT \(Self.daemonColumns) FROM provisioner_daemons WHERE organization_id = $1 ORDER BY created_at, name",
            [organizationID]
        ).rows.map(Self.daemon(from:))
    }

    /// Daemons that could take a job with these properties: count, how many are connected and
    /// idle, and when one was last seen (Coder's `matched_provisioners`).
    public func matchedDaemons(organizationID: UUID, provisioner: String, tags: [String: String]) async throws -> (count: Int, available: Int, mostRecentlySeen: Date?) {
        let row = try await pool.query(
            """
            SELECT count(*) FILTER (WHERE connected),
                   count(*) FILTER (WHERE connected AND current_job_id IS NULL),
                   max(last_seen_at)
            FROM provisioner_daemons
            WHERE organization_id = $1 AND $2 = ANY(provisioners) AND provisioner_tagset_contains(tags, $3::jsonb)
            """,
            [organizationID, provisioner, Self.encodeTags(tags)]
        ).first!
        return (try row.decode(0), try row.decode(1), try row.decode(2, as: Date?.self))
    }
}

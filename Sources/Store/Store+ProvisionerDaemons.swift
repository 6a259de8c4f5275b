import Foundation
import Postgres

/// Who may hold a daemon name: the scope and owner of the credential that registered it.
public struct DaemonOwnership: Sendable, Equatable {
    /// `organization` or `user`.
    public var scope: String
    /// The user a user-scoped daemon belongs to; nil for organization daemons.
    public var ownerID: UUID?

    public init(scope: String, ownerID: UUID?) {
        self.scope = scope
        self.ownerID = ownerID
    }
}

/// A connecting daemon, as the serve route knows it before the upgrade.
public struct DaemonRegistration: Sendable {
    public var name: String
    public var organizationID: UUID
    public var ownership: DaemonOwnership
    /// The daemon process's random id (`instance_id`).
    public var instanceID: String
    /// This connection; leases it takes name it.
    public var connectionID: UUID
    public var provisioners: [String]
    public var tags: [String: String]
    public var replicaID: UUID
    public var version: String

    public init(name: String, organizationID: UUID, ownership: DaemonOwnership, instanceID: String, connectionID: UUID, provisioners: [String], tags: [String: String], replicaID: UUID, version: String) {
        self.name = name
        self.organizationID = organizationID
        self.ownership = ownership
        self.instanceID = instanceID
        self.connectionID = connectionID
        self.provisioners = provisioners
        self.tags = tags
        self.replicaID = replicaID
        self.version = version
    }
}

public enum DaemonRegistrationOutcome: Sendable, Equatable {
    /// The connection holds the name now; `superseded` is the connection it replaced (the same
    /// process reconnecting), which must be closed wherever it still is.
    case registered(ProvisionerDaemonRecord, superseded: UUID?)
    /// The name belongs to a daemon of another scope or owner.
    case heldByAnotherOwner(DaemonOwnership)
    /// Another process (another instance id) is connected under this name right now.
    case connectedElsewhere
}

extension Store {
    /// Payload: the id of a daemon connection that a reconnect of the same process replaced.
    public static let daemonSupersededChannel = "provisioner_daemon_superseded"

    static let daemonColumns = """
        id, created_at, updated_at, last_seen_at, name, organization_id, provisioners, tags::text, replica_id, version,
        current_job_id, connected, scope, owner_id, instance_id, connection_id
        """

    static func daemon(from row: PostgresRow) throws -> ProvisionerDaemonRecord {
        ProvisionerDaemonRecord(
            id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at", as: Date?.self),
            lastSeenAt: try row.decode("last_seen_at", as: Date?.self), name: try row.decode("name"),
            organizationID: try row.decode("organization_id"), provisioners: try row.decode("provisioners"),
            tags: try decodeTags(try row.decode("tags")), replicaID: try row.decode("replica_id", as: UUID?.self),
            version: try row.decode("version"), currentJobID: try row.decode("current_job_id", as: UUID?.self),
            connected: try row.decode("connected"),
            ownership: DaemonOwnership(scope: try row.decode("scope"), ownerID: try row.decode("owner_id", as: UUID?.self)),
            instanceID: try row.decode("instance_id"), connectionID: try row.decode("connection_id", as: UUID?.self)
        )
    }

    /// Registers a connecting daemon under its name, if its credential may hold that name.
    ///
    /// A daemon keeps its id across reconnects (to any replica): job leases name it. The name
    /// belongs to the scope and owner that first registered it. The same process reconnecting
    /// (same instance id) replaces its older connection at once, even one still half-open on
    /// another replica; another process under the same name is refused while the name is
    /// connected (seen within `liveness`), so it can never take over a running daemon's jobs.
    public func registerDaemon(_ daemon: DaemonRegistration, liveness: Duration) async throws -> DaemonRegistrationOutcome {
        try await pool.withTransaction { connection in
            let inserted = try connection.query(
                """
                INSERT INTO provisioner_daemons (id, name, organization_id, provisioners, tags, replica_id, version, connected,
                    last_seen_at, updated_at, scope, owner_id, instance_id, connection_id)
                VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, true, now(), now(), $8, $9, $10, $11)
                ON CONFLICT (organization_id, name) DO NOTHING
                RETURNING \(Self.daemonColumns)
                """,
                [UUID(), daemon.name, daemon.organizationID, daemon.provisioners, Self.encodeTags(daemon.tags), daemon.replicaID,
                 daemon.version, daemon.ownership.scope, daemon.ownership.ownerID, daemon.instanceID, daemon.connectionID]
            ).first
            if let inserted { return .registered(try Self.daemon(from: inserted), superseded: nil) }

            guard let row = try connection.query(
                """
                SELECT \(Self.daemonColumns), connected AND last_seen_at > now() - $3 * interval '1 millisecond' AS live
                FROM provisioner_daemons WHERE organization_id = $1 AND name = $2 FOR UPDATE
                """,
                [daemon.organizationID, daemon.name, liveness.milliseconds]
            ).first else { throw StoreError.notFound }
            let existing = try Self.daemon(from: row)
            guard existing.ownership == daemon.ownership else { return .heldByAnotherOwner(existing.ownership) }
            let sameProcess = !daemon.instanceID.isEmpty && existing.instanceID == daemon.instanceID
            if !sameProcess, try row.decode("live", as: Bool.self) { return .connectedElsewhere }

            let updated = try connection.query(
                """
                UPDATE provisioner_daemons SET provisioners = $2, tags = $3::jsonb, replica_id = $4, version = $5, connected = true,
                    last_seen_at = now(), updated_at = now(), instance_id = $6, connection_id = $7
                WHERE id = $1
                RETURNING \(Self.daemonColumns)
                """,
                [existing.id, daemon.provisioners, Self.encodeTags(daemon.tags), daemon.replicaID, daemon.version,
                 daemon.instanceID, daemon.connectionID]
            ).first
            guard let updated else { throw StoreError.notFound }
            let superseded = existing.connectionID.flatMap { $0 == daemon.connectionID ? nil : $0 }
            if let superseded {
                try connection.notify(Self.daemonSupersededChannel, superseded.uuidString.lowercased())
            }
            return .registered(try Self.daemon(from: updated), superseded: superseded)
        }
    }

    /// Marks every daemon connection of this replica in `connectionIDs` as seen, in one statement:
    /// a replica holding thousands of idle daemons writes once per interval, not once per daemon.
    /// Returns the connections that are still their daemon's current one.
    public func daemonConnectionsSeen(_ connectionIDs: [UUID]) async throws -> [UUID] {
        guard !connectionIDs.isEmpty else { return [] }
        return try await pool.query(
            "UPDATE provisioner_daemons SET last_seen_at = now() WHERE connection_id = ANY($1::uuid[]) RETURNING connection_id",
            [connectionIDs.map { $0.uuidString.lowercased() }]
        ).rows.map { try $0.decode(0, as: UUID.self) }
    }

    /// The daemon's connection ended, unless a newer connection of it has taken over.
    public func daemonDisconnected(connectionID: UUID) async throws {
        try await pool.query(
            "UPDATE provisioner_daemons SET connected = false, last_seen_at = now() WHERE connection_id = $1",
            [connectionID]
        )
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
        ).first
        guard let row else { return (0, 0, nil) }
        return (try row.decode(0), try row.decode(1), try row.decode(2, as: Date?.self))
    }
}

import Foundation
import Postgres

public struct ProvisionerDaemonRecord: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date?
    public var lastSeenAt: Date?
    public var name: String
    public var organizationID: UUID
    public var provisioners: [String]
    public var tags: [String: String]
    public var replicaID: UUID?
    public var version: String
    public var currentJobID: UUID?
    public var connected: Bool
    public var ownership: DaemonOwnership
    public var instanceID: String
    public var connectionID: UUID?
    /// What its `hello` said each provisioner runs (`terraform` → `1.11.4`).
    public var provisionerVersions: [String: String] = [:]
}

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

/// How many daemons may be connected at once (`--provisioner-daemons-per-user`,
/// `--provisioner-daemons-per-organization`), counted in the registration's transaction. A daemon
/// is counted while it is connected (seen within the liveness window), so one that went away
/// frees its place; names that were registered once and went offline are not counted (the
/// retention purge deletes them).
public struct DaemonCaps: Sendable, Equatable {
    /// Connected user daemons (`scope=user`) of one user in one organization; nil: not counted
    /// (organization daemons, and user daemons registered with the PSK, which belong to no user).
    public var perUser: Int?
    /// Connected daemons of one organization, of every owner; nil: not counted.
    public var perOrganization: Int?

    /// 10 daemons per user; 20,000 per organization, twice DESIGN's budget of 10,000 idle daemons
    /// per replica, so that the cap never stands in the way of the budget.
    public init(perUser: Int? = 10, perOrganization: Int? = 20_000) {
        self.perUser = perUser
        self.perOrganization = perOrganization
    }

    public static let unlimited = DaemonCaps(perUser: nil, perOrganization: nil)

    /// How far below the organization's cap a registration counts without the organization's lock:
    /// registrations in flight at once, cluster-wide, cannot make up this gap (each holds a pooled
    /// connection: replicas × `--postgres-pool-size` of them at most, 10 a replica by default). So a mass reconnect of
    /// thousands of daemons (a replica restarted) does not queue on one lock; only registrations
    /// near the cap wait for each other, and those count exactly.
    public static let organizationSlack = 1_000

    /// How long a registration waits for a cap's lock before it is refused as busy (503; the
    /// daemon retries): never a pooled connection held for ever behind a queue.
    public static let lockTimeout = "5s"

    /// Names one user may hold for their daemons in one organization, connected or not, when at
    /// most `perUser` may be connected: ten times as many, so that daemons on new machines and
    /// renamed ones come and go freely, while connecting and leaving under ever new names (each a
    /// row and an audit row, kept until the retention purge) stops there.
    public static func namesPerUser(_ perUser: Int) -> Int {
        perUser.multipliedReportingOverflow(by: 10).overflow ? .max : perUser * 10
    }
}

/// Which cap a registration would have passed, and its value. Thrown inside the registration's
/// transaction (so that its insert rolls back) and returned as `DaemonRegistrationOutcome.capReached`.
public enum DaemonCapReached: Error, Sendable, Equatable {
    case user(limit: Int)
    /// The user holds this many daemon names in the organization already (`DaemonCaps.namesPerUser`).
    case userNames(limit: Int)
    case organization(limit: Int)
}

public enum DaemonRegistrationOutcome: Sendable, Equatable {
    /// The connection holds the name now; `superseded` is the connection it replaced (the same
    /// process reconnecting), which must be closed wherever it still is.
    case registered(ProvisionerDaemonRecord, superseded: UUID?)
    /// The name's row under this key belongs to another scope: since names are keyed by owner
    /// (migration 11), only a user daemon's row that migration 4 backfilled without an owner.
    case heldByAnotherOwner(DaemonOwnership)
    /// Another process (another instance id) is connected under this name right now.
    case connectedElsewhere
    /// Connecting would pass a cap of `DaemonCaps`; nothing was written.
    case capReached(DaemonCapReached)
}

/// The `provisioner_daemons` table's statements.
enum ProvisionerDaemons {
    private static let columns: SQL = """
        id, created_at, updated_at, last_seen_at, name, organization_id, provisioners, tags::text, replica_id, version,
        current_job_id, connected, scope, owner_id, instance_id, connection_id, provisioner_versions::text
        """

    private static func record(_ row: PostgresRow) throws -> ProvisionerDaemonRecord {
        ProvisionerDaemonRecord(
            id: try row.decode("id"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at", as: Date?.self),
            lastSeenAt: try row.decode("last_seen_at", as: Date?.self), name: try row.decode("name"),
            organizationID: try row.decode("organization_id"), provisioners: try row.decode("provisioners"),
            tags: try row.decodeJSON("tags"), replicaID: try row.decode("replica_id", as: UUID?.self),
            version: try row.decode("version"), currentJobID: try row.decode("current_job_id", as: UUID?.self),
            connected: try row.decode("connected"),
            ownership: DaemonOwnership(scope: try row.decode("scope"), ownerID: try row.decode("owner_id", as: UUID?.self)),
            instanceID: try row.decode("instance_id"), connectionID: try row.decode("connection_id", as: UUID?.self),
            provisionerVersions: try row.decodeJSON("provisioner_versions")
        )
    }

    /// What the daemon's `hello` said, on the row of the connection that said it.
    static func recordProvisionerVersions(_ versions: [String: String], daemonID: UUID, connectionID: UUID) throws -> PostgresQuery<Void> {
        let json = try TagsJSON(versions)
        return PostgresQuery("UPDATE provisioner_daemons SET provisioner_versions = \(json)::jsonb WHERE id = \(daemonID) AND connection_id = \(connectionID)")
    }

    /// A daemon's key, as Coder's (migration 11): its organization, its name and its owner
    /// (`''` for organization daemons). Owners never share a row, so one owner's name cannot
    /// block another's.
    static let ownerKey: SQL = "COALESCE(owner_id::text, '')"

    /// The new daemon's row; none if its owner already has a daemon of that name in the organization.
    static func insert(_ daemon: DaemonRegistration) throws -> PostgresQuery<ProvisionerDaemonRecord> {
        let tags = try TagsJSON(daemon.tags)
        return PostgresQuery(
            """
            INSERT INTO provisioner_daemons (id, name, organization_id, provisioners, tags, replica_id, version, connected,
                last_seen_at, updated_at, scope, owner_id, instance_id, connection_id)
            VALUES (\(UUID()), \(daemon.name), \(daemon.organizationID), \(daemon.provisioners), \(tags)::jsonb, \(daemon.replicaID),
                \(daemon.version), true, now(), now(), \(daemon.ownership.scope), \(daemon.ownership.ownerID), \(daemon.instanceID),
                \(daemon.connectionID))
            ON CONFLICT (organization_id, name, (\(ownerKey))) DO NOTHING
            RETURNING \(columns)
            """,
            decode: record
        )
    }

    /// The row holding the name for this owner (nil: the organization's daemons), locked, and
    /// whether it is connected now (seen within `liveness`; NULL only for a connected row never
    /// seen, which no statement writes). Read through the key's index.
    static func lockNamed(_ name: String, organizationID: UUID, ownerID: UUID?, liveness: Duration) -> PostgresQuery<(daemon: ProvisionerDaemonRecord, live: Bool?)> {
        PostgresQuery(
            """
            SELECT \(columns), connected AND last_seen_at > now() - \(liveness.milliseconds) * interval '1 millisecond' AS live
            FROM provisioner_daemons
            WHERE organization_id = \(organizationID) AND name = \(name) AND \(ownerKey) = COALESCE(\(ownerID)::uuid::text, '')
            FOR UPDATE
            """
        ) { row in
            (try record(row), try row.decode("live", as: Bool?.self))
        }
    }

    /// The registration takes over the row `id`: this connection holds the name now.
    static func reconnect(id: UUID, _ daemon: DaemonRegistration) throws -> PostgresQuery<ProvisionerDaemonRecord> {
        let tags = try TagsJSON(daemon.tags)
        return PostgresQuery(
            """
            UPDATE provisioner_daemons SET provisioners = \(daemon.provisioners), tags = \(tags)::jsonb, replica_id = \(daemon.replicaID),
                version = \(daemon.version), connected = true, last_seen_at = now(), updated_at = now(),
                instance_id = \(daemon.instanceID), connection_id = \(daemon.connectionID)
            WHERE id = \(id)
            RETURNING \(columns)
            """,
            decode: record
        )
    }

    /// Registrations that would pass a cap wait for each other (until their transaction ends),
    /// so that concurrent ones cannot pass it together: each counts after the one before it has
    /// committed. Per owner for the per-user cap (`ownerID`), per organization near its cap (nil).
    /// Taken in a statement of its own, before the count, so that the count's snapshot is taken
    /// after the lock is held, and after `capLockTimeout`.
    static func capLock(organizationID: UUID, ownerID: UUID?) -> PostgresQuery<Void> {
        PostgresQuery(
            "SELECT pg_advisory_xact_lock(hashtextextended('coordinator.daemon_caps:' || \(organizationID)::text || ':' || coalesce(\(ownerID)::text, ''), 0))"
        )
    }

    /// The longest a registration waits for a cap's lock (`DaemonCaps.lockTimeout`), written into
    /// the text: SET takes no parameters, and the value is the program's own constant.
    static let capLockTimeout = PostgresQuery<Void>("SET LOCAL lock_timeout = '\(unescaped: DaemonCaps.lockTimeout)'")

    /// The organization's connected daemons (seen within `liveness`) other than `id`; with
    /// `ownerID`, only that user's user daemons. Through `provisioner_daemons_connected` (migration
    /// 14): connected rows only, however many the organization has had.
    static func connectedCount(organizationID: UUID, ownerID: UUID?, excluding id: UUID, liveness: Duration) -> PostgresQuery<Int> {
        let owner = SQL.Bind(ownerID)
        return PostgresQuery(
            """
            SELECT count(*) AS connected FROM provisioner_daemons
            WHERE organization_id = \(organizationID) AND connected AND id <> \(id)
              AND last_seen_at > now() - \(liveness.milliseconds) * interval '1 millisecond'
              AND (\(owner)::uuid IS NULL OR (owner_id = \(owner)::uuid AND scope = 'user'))
            """,
            column: "connected"
        )
    }

    /// The names `ownerID` holds for user daemons in the organization, connected or not, other
    /// than `id`. Through `provisioner_daemons_owner` (migration 14).
    static func namesOwned(organizationID: UUID, ownerID: UUID, excluding id: UUID) -> PostgresQuery<Int> {
        PostgresQuery(
            """
            SELECT count(*) AS names FROM provisioner_daemons
            WHERE organization_id = \(organizationID) AND owner_id = \(ownerID) AND scope = 'user' AND id <> \(id)
            """,
            column: "names"
        )
    }

    /// Returns the connections that are still their daemon's current one.
    static func seen(connectionIDs: [UUID]) -> PostgresQuery<UUID> {
        PostgresQuery(
            "UPDATE provisioner_daemons SET last_seen_at = now() WHERE connection_id = ANY(\(connectionIDs)::uuid[]) RETURNING connection_id",
            column: "connection_id"
        )
    }

    static func disconnected(connectionID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE provisioner_daemons SET connected = false, last_seen_at = now() WHERE connection_id = \(connectionID)")
    }

    static func ofOrganization(_ organizationID: UUID) -> PostgresQuery<ProvisionerDaemonRecord> {
        PostgresQuery("SELECT \(columns) FROM provisioner_daemons WHERE organization_id = \(organizationID) ORDER BY created_at, name", decode: record)
    }

    /// Coder's `matched_provisioners`: how many could take such a job, how many are idle, and
    /// when one was last seen.
    static func matching(organizationID: UUID, provisioner: String, tags: [String: String]) throws -> PostgresQuery<(count: Int, available: Int, mostRecentlySeen: Date?)> {
        let jobTags = try TagsJSON(tags)
        return PostgresQuery(
            """
            SELECT count(*) FILTER (WHERE connected) AS count,
                   count(*) FILTER (WHERE connected AND current_job_id IS NULL) AS available,
                   max(last_seen_at) AS most_recently_seen
            FROM provisioner_daemons
            WHERE organization_id = \(organizationID) AND \(provisioner) = ANY(provisioners)
              AND provisioner_tagset_contains(tags, \(jobTags)::jsonb)
            """
        ) { row in
            (try row.decode("count"), try row.decode("available"), try row.decode("most_recently_seen", as: Date?.self))
        }
    }

    static func assign(jobID: UUID, to daemonID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE provisioner_daemons SET current_job_id = \(jobID), last_seen_at = now() WHERE id = \(daemonID)")
    }

    /// Frees the daemon, unless it has moved on to another job meanwhile.
    static func release(jobID: UUID, from daemonID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE provisioner_daemons SET current_job_id = NULL WHERE id = \(daemonID) AND current_job_id = \(jobID)")
    }
}

import Foundation
import Postgres

extension Store {
    /// Payload: the id of a daemon connection that a reconnect of the same process replaced.
    public static let daemonSupersededChannel = "provisioner_daemon_superseded"

    /// Registers a connecting daemon under its name, if its credential may hold that name and
    /// the caps allow one more connected daemon.
    ///
    /// A daemon keeps its id across reconnects (to any replica): job leases name it. Names are
    /// keyed by organization, name and owner, as in Coder: the organization's daemons (`owner_id`
    /// NULL) and each user's daemons have names of their own, so a user daemon cannot hold a name
    /// against the organization's daemons or another user's, and a daemon of another owner gets a
    /// row of its own instead of this one. Within one owner, the same process reconnecting (same
    /// instance id) replaces its older connection at once, even one still half-open on another
    /// replica; another process under the same name is refused while the name is connected (seen
    /// within `liveness`), so it can never take over a running daemon's jobs.
    ///
    /// `caps` are checked in this transaction (`checkDaemonCaps`), so that concurrent
    /// registrations cannot pass a cap together. Only a registration that adds a connected daemon
    /// is counted: a new name, or a name whose daemon is not connected now. The same process
    /// replacing its live connection is already counted, and is never refused by a cap.
    ///
    /// `audit` sees a registration that happened: a new daemon (`old` nil) or an existing one
    /// reconnecting (`old` its row before); its row commits with it. A refused one leaves none.
    public func registerDaemon(
        _ daemon: DaemonRegistration, liveness: Duration, caps: DaemonCaps = .unlimited,
        audit: (@Sendable (_ old: ProvisionerDaemonRecord?, _ new: ProvisionerDaemonRecord) throws -> AuditEntry?)? = nil
    ) async throws -> DaemonRegistrationOutcome {
        do {
            return try await pool.withTransaction { connection in
                if let inserted = try connection.one(ProvisionerDaemons.insert(daemon)) {
                    // Throws past a cap: the insert rolls back with the transaction.
                    try Self.checkDaemonCaps(caps, adding: inserted, newName: true, liveness: liveness, on: connection)
                    try Self.recordAudit(try audit?(nil, inserted), on: connection)
                    return .registered(inserted, superseded: nil)
                }
                guard let locked = try connection.one(ProvisionerDaemons.lockNamed(
                    daemon.name, organizationID: daemon.organizationID, ownerID: daemon.ownership.ownerID, liveness: liveness
                )) else { throw StoreError.notFound }
                // The key has the owner but not the scope: only a user daemon's row that migration 4
                // backfilled without an owner (its tags had none) shares the organization daemons' key.
                let (existing, live) = locked
                guard existing.ownership == daemon.ownership else { return .heldByAnotherOwner(existing.ownership) }
                let sameProcess = !daemon.instanceID.isEmpty && existing.instanceID == daemon.instanceID
                if !sameProcess, live != false { return .connectedElsewhere }
                // A name whose daemon is away comes back as one more connected daemon; a live one
                // (the same process replacing its connection) is counted already.
                if live == false {
                    try Self.checkDaemonCaps(caps, adding: existing, newName: false, liveness: liveness, on: connection)
                }

                guard let updated = try connection.one(ProvisionerDaemons.reconnect(id: existing.id, daemon)) else { throw StoreError.notFound }
                try Self.recordAudit(try audit?(existing, updated), on: connection)
                let superseded = existing.connectionID.flatMap { $0 == daemon.connectionID ? nil : $0 }
                if let superseded {
                    try connection.notify(Self.daemonSupersededChannel, superseded.uuidString.lowercased())
                }
                return .registered(updated, superseded: superseded)
            }
        } catch let reached as DaemonCapReached {
            return .capReached(reached)
        }
    }

    /// Throws `DaemonCapReached` if `daemon` (its row, inserted or about to be taken back) would be
    /// one connected daemon too many for its owner or its organization, or, for a `newName`, one
    /// name too many for its owner (`DaemonCaps.namesPerUser`: names stay until the retention
    /// purge, so connecting and leaving under ever new names would otherwise fill the table). The
    /// per-user counts run under the owner's lock (a few rows); the organization's count runs
    /// unlocked while it is further below the cap than registrations in flight could make up
    /// (`DaemonCaps.organizationSlack`), and again under the organization's lock near it. A lock
    /// holder waits for nothing else, so registrations cannot deadlock; none waits longer than
    /// `DaemonCaps.lockTimeout`.
    static func checkDaemonCaps(
        _ caps: DaemonCaps, adding daemon: ProvisionerDaemonRecord, newName: Bool, liveness: Duration, on connection: isolated DatabaseConnection
    ) throws {
        let ownerID = daemon.ownership.scope == "user" ? daemon.ownership.ownerID : nil
        let organizationID = daemon.organizationID
        guard (caps.perUser != nil && ownerID != nil) || caps.perOrganization != nil else { return }
        try connection.execute(ProvisionerDaemons.capLockTimeout)
        if let limit = caps.perUser, let ownerID {
            try connection.execute(ProvisionerDaemons.capLock(organizationID: organizationID, ownerID: ownerID))
            let owned = try connection.one(ProvisionerDaemons.connectedCount(organizationID: organizationID, ownerID: ownerID, excluding: daemon.id, liveness: liveness)) ?? 0
            if owned >= limit { throw DaemonCapReached.user(limit: limit) }
            let names = DaemonCaps.namesPerUser(limit)
            if newName, try connection.one(ProvisionerDaemons.namesOwned(organizationID: organizationID, ownerID: ownerID, excluding: daemon.id)) ?? 0 >= names {
                throw DaemonCapReached.userNames(limit: names)
            }
        }
        if let limit = caps.perOrganization {
            let count = { try connection.one(ProvisionerDaemons.connectedCount(organizationID: organizationID, ownerID: nil, excluding: daemon.id, liveness: liveness)) ?? 0 }
            var connected = try count()
            if connected + DaemonCaps.organizationSlack >= limit {
                try connection.execute(ProvisionerDaemons.capLock(organizationID: organizationID, ownerID: nil))
                connected = try count()
            }
            if connected >= limit { throw DaemonCapReached.organization(limit: limit) }
        }
    }

    /// Marks every daemon connection of this replica in `connectionIDs` as seen, in one statement:
    /// a replica holding thousands of idle daemons writes once per interval, not once per daemon.
    /// Returns the connections that are still their daemon's current one.
    public func daemonConnectionsSeen(_ connectionIDs: [UUID]) async throws -> [UUID] {
        guard !connectionIDs.isEmpty else { return [] }
        return try await pool.all(ProvisionerDaemons.seen(connectionIDs: connectionIDs))
    }

    /// The daemon's connection ended, unless a newer connection of it has taken over.
    public func daemonDisconnected(connectionID: UUID) async throws {
        try await pool.execute(ProvisionerDaemons.disconnected(connectionID: connectionID))
    }

    public func daemons(organizationID: UUID) async throws -> [ProvisionerDaemonRecord] {
        try await pool.all(ProvisionerDaemons.ofOrganization(organizationID))
    }

    /// Daemons that could take a job with these properties: count, how many are connected and
    /// idle, and when one was last seen (Coder's `matched_provisioners`).
    public func matchedDaemons(organizationID: UUID, provisioner: String, tags: [String: String]) async throws -> (count: Int, available: Int, mostRecentlySeen: Date?) {
        try await pool.one(ProvisionerDaemons.matching(organizationID: organizationID, provisioner: provisioner, tags: tags)) ?? (0, 0, nil)
    }

    /// Stores what a daemon's `hello` said its provisioners run, on its current connection's row.
    public func recordProvisionerVersions(_ versions: [String: String], daemonID: UUID, connectionID: UUID) async throws {
        try await pool.execute(try ProvisionerDaemons.recordProvisionerVersions(versions, daemonID: daemonID, connectionID: connectionID))
    }
}

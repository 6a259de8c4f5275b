import Foundation
import Postgres
import SCIMCore

extension Store {
    /// The audit row of a SCIM group change, made inside its transaction.
    public typealias SCIMGroupAudit = @Sendable (_ action: AuditAction, _ old: SCIMGroup?, _ new: SCIMGroup?) throws -> AuditEntry?

    public func scimGroup(id: UUID, organizationID: UUID) async throws -> SCIMGroup? {
        try await pool.one(SCIMGroups.withID(id, organizationID: organizationID))
    }

    /// One page of the default organization's groups (Everyone not among them) and how many
    /// match in all; `members: false` leaves members unread (Entra's `excludedAttributes=members`).
    public func scimGroups(_ request: SCIMListRequest, organizationID: UUID, members: Bool) async throws -> (groups: [SCIMGroup], total: Int) {
        try await scimPage(try SCIMGroups.list(request, organizationID: organizationID, members: members), request)
    }

    public func scimCreateGroup(_ write: SCIMGroupWrite, organizationID: UUID, audit: SCIMGroupAudit) async throws -> SCIMGroup {
        var checked = write
        checked.displayName = try GroupNames.checked(name: write.displayName)
        let write = checked
        return try await mappingConflicts(Groups.constraintFields) {
            try await pool.withTransaction { connection in
                try Self.checkMembers(write.memberIDs, organizationID: organizationID, on: connection)
                let id = UUID()
                try connection.execute(SCIMGroups.insert(id: id, write, organizationID: organizationID))
                if !write.memberIDs.isEmpty { try connection.execute(SCIMGroups.addMembers(groupID: id, write.memberIDs)) }
                let created = try connection.require(SCIMGroups.withID(id, organizationID: organizationID))
                try Self.recordAudit(try audit(.create, nil, created), on: connection)
                return created
            }
        }
    }

    /// Replaces a group with `change(current)` (PUT, or a PATCH applied to the current group),
    /// the change computed outside any transaction (see `scimOptimisticChange`); nil when SCIM
    /// does not see the group.
    public func scimReplaceGroup(
        id: UUID, organizationID: UUID, ifVersion: Int64?, audit: SCIMGroupAudit,
        change: @Sendable (SCIMGroup) async throws -> SCIMGroupWrite
    ) async throws -> SCIMGroup? {
        try await mappingConflicts(Groups.constraintFields) {
            try await scimOptimisticChange(
                read: SCIMGroups.withID(id, organizationID: organizationID), lock: SCIMGroups.withID(id, organizationID: organizationID, forUpdate: true),
                version: \.version, ifVersion: ifVersion,
                change: { current in
                    var write = try await change(current)
                    write.displayName = try GroupNames.checked(name: write.displayName)
                    return write
                }
            ) { current, write, connection in
                let before = Set(current.memberIDs ?? [])
                let after = Set(write.memberIDs)
                try Self.checkMembers(Array(after.subtracting(before)), organizationID: organizationID, on: connection)
                try connection.execute(SCIMGroups.update(id: id, write))
                if !before.subtracting(after).isEmpty { try connection.execute(SCIMGroups.removeMembers(groupID: id, keeping: Array(after))) }
                let added = Array(after.subtracting(before))
                if !added.isEmpty { try connection.execute(SCIMGroups.addMembers(groupID: id, added)) }
                let replaced = try connection.require(SCIMGroups.withID(id, organizationID: organizationID))
                try Self.recordAudit(try audit(.write, current, replaced), on: connection)
                return replaced
            }
        }
    }

    public func scimDeleteGroup(id: UUID, organizationID: UUID, ifVersion: Int64?, audit: SCIMGroupAudit) async throws -> Bool {
        try await pool.withTransaction { connection in
            guard let current = try connection.one(SCIMGroups.withID(id, organizationID: organizationID, forUpdate: true)) else { return false }
            if let ifVersion, ifVersion != current.version { throw SCIMWriteError.versionMismatch }
            try connection.execute(Groups.delete(id))
            try Self.recordAudit(try audit(.delete, current, nil), on: connection)
            return true
        }
    }

    private static func checkMembers(_ ids: [UUID], organizationID: UUID, on connection: isolated DatabaseConnection) throws {
        guard !ids.isEmpty else { return }
        let known = Set(try connection.all(Groups.organizationMembers(organizationID, among: ids)))
        let unknown = ids.filter { !known.contains($0) }
        if !unknown.isEmpty { throw SCIMUnknownMembers(ids: unknown) }
    }
}

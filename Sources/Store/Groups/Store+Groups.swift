import Foundation
import Postgres

/// Why a group change was refused, naming the user it is about.
public enum GroupChangeError: Error, Sendable, Equatable {
    case notOrganizationMember(UUID)
    case alreadyMember(UUID)
    case notMember(UUID)
}

extension Store {
    public func createGroup(_ new: NewGroup, audit: (@Sendable (Group) throws -> AuditEntry?)? = nil) async throws -> Group {
        var checkedGroup = new
        checkedGroup.name = try GroupNames.checked(name: new.name)
        checkedGroup.displayName = try GroupNames.checked(displayName: new.displayName)
        let new = checkedGroup
        return try await mappingConflicts(Groups.constraintFields) {
            try await pool.withTransaction { connection in
                guard let group = try connection.one(Groups.insert(new)) else { throw StoreError.notFound }
                try Self.recordAudit(try audit?(group), on: connection)
                return group
            }
        }
    }

    public func group(id: UUID) async throws -> Group? {
        try await pool.one(Groups.withID(id))
    }

    public func group(named name: String, organizationID: UUID) async throws -> Group? {
        try await pool.one(Groups.withName(name, organizationID: organizationID))
    }

    /// The groups `filter` selects with their members' ids, and every member once: two
    /// statements whatever the number of groups and members.
    public func groups(_ filter: GroupFilter) async throws -> GroupDirectory {
        try await pool.withTransaction(isolation: .repeatableRead) { connection in
            var groups = try connection.all(Groups.list(filter))
            let ids = Array(Set(groups.flatMap(\.memberIDs)))
            let users = ids.isEmpty ? [] : try connection.all(Users.withIDs(ids))
            let byID = Dictionary(users.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            // Username order, then id, as the single-group statement orders them.
            let rank = Dictionary(uniqueKeysWithValues: users.sorted { ($0.username, $0.id.uuidString) < ($1.username, $1.id.uuidString) }.enumerated().map { ($1.id, $0) })
            for index in groups.indices {
                groups[index].memberIDs = groups[index].memberIDs.filter { rank[$0] != nil }.sorted { (rank[$0] ?? 0) < (rank[$1] ?? 0) }
            }
            return GroupDirectory(groups: groups, users: byID)
        }
    }

    public func groupWithMembers(_ group: Group) async throws -> GroupWithMembers {
        try await pool.withTransaction(isolation: .repeatableRead) { connection in
            try Self.withMembers([group], on: connection)[0]
        }
    }

    /// Applies `change` in one transaction: the group is locked and re-read, its fields
    /// updated, members added (each must belong to the organization) and removed (from this
    /// group only). `audit` sees the group before and after, and its row commits with the change.
    public func changeGroup(
        id: UUID, _ change: GroupChange,
        audit: (@Sendable (_ old: GroupWithMembers, _ new: GroupWithMembers) throws -> AuditEntry?)? = nil
    ) async throws -> GroupWithMembers {
        var checkedChange = change
        // Only what changes is checked: Everyone keeps its own name.
        checkedChange.name = try change.name.map(GroupNames.checked(name:))
        checkedChange.displayName = try change.displayName.map(GroupNames.checked(displayName:))
        let change = checkedChange
        return try await mappingConflicts(Groups.constraintFields) {
            try await pool.withTransaction { connection in
                guard let current = try connection.one(Groups.withID(id, forUpdate: true)) else { throw StoreError.notFound }
                let before = try Self.withMembers([current], on: connection)[0]
                try connection.execute(Groups.update(
                    id, name: change.name ?? current.name, displayName: change.displayName ?? current.displayName,
                    avatarURL: change.avatarURL ?? current.avatarURL, quotaAllowance: change.quotaAllowance ?? current.quotaAllowance
                ))
                if !change.addUsers.isEmpty {
                    let members = Set(try connection.all(Groups.organizationMembers(current.organizationID, among: change.addUsers)))
                    if let outsider = change.addUsers.first(where: { !members.contains($0) }) {
                        throw GroupChangeError.notOrganizationMember(outsider)
                    }
                    let present = Set(before.members.map(\.id))
                    for user in change.addUsers {
                        if present.contains(user) { throw GroupChangeError.alreadyMember(user) }
                        try connection.execute(Groups.addMember(user, to: id))
                    }
                }
                for user in change.removeUsers {
                    guard try connection.execute(Groups.removeMember(user, from: id)) == 1 else { throw GroupChangeError.notMember(user) }
                }
                guard let updated = try connection.one(Groups.withID(id)) else { throw StoreError.notFound }
                let after = try Self.withMembers([updated], on: connection)[0]
                try Self.recordAudit(try audit?(before, after), on: connection)
                return after
            }
        }
    }

    /// Deletes the group and returns it as it was, with its members.
    public func deleteGroup(id: UUID, audit: (@Sendable (GroupWithMembers) throws -> AuditEntry?)? = nil) async throws -> GroupWithMembers {
        try await pool.withTransaction { connection in
            guard let group = try connection.one(Groups.withID(id, forUpdate: true)) else { throw StoreError.notFound }
            let deleted = try Self.withMembers([group], on: connection)[0]
            try connection.execute(Groups.delete(id))
            try Self.recordAudit(try audit?(deleted), on: connection)
            return deleted
        }
    }

    /// The ids of the groups `userID` is in within the organization, its Everyone included.
    public func groupIDs(ofUser userID: UUID, organizationID: UUID) async throws -> Set<UUID> {
        Set(try await pool.all(Groups.memberships(userID: userID, organizationID: organizationID)))
    }

    private static func withMembers(_ groups: [Group], on connection: isolated DatabaseConnection) throws -> [GroupWithMembers] {
        guard !groups.isEmpty else { return [] }
        var members: [UUID: [User]] = [:]
        for (groupID, user) in try connection.all(Groups.members(ofGroups: groups.map(\.id))) {
            members[groupID, default: []].append(user)
        }
        return groups.map { GroupWithMembers(group: $0, members: members[$0.id] ?? []) }
    }
}

import Foundation
import Postgres

/// A group of an organization. The organization's Everyone group shares its id and has every
/// member of the organization, implicitly: it has no rows in `group_members`.
public struct Group: Sendable, Equatable, Encodable {
    public var id: UUID
    public var name: String
    public var displayName: String
    public var organizationID: UUID
    public var avatarURL: String
    public var quotaAllowance: Int32
    public var source: String

    public var isEveryone: Bool { id == organizationID }

    public static let everyoneName = "Everyone"

    enum CodingKeys: String, CodingKey {
        case id, name, source
        case displayName = "display_name"
        case organizationID = "organization_id"
        case avatarURL = "avatar_url"
        case quotaAllowance = "quota_allowance"
    }
}

/// A group and the ids of its members, in username order.
public struct GroupListing: Sendable, Equatable {
    public var group: Group
    public var memberIDs: [UUID]
}

/// Groups with their members' ids, and each member once: a list of many groups that share
/// members (100 groups of the same 1,000 users) reads and encodes each user once.
public struct GroupDirectory: Sendable, Equatable {
    public var groups: [GroupListing]
    public var users: [UUID: User]

    public var withMembers: [GroupWithMembers] {
        groups.map { GroupWithMembers(group: $0.group, members: $0.memberIDs.compactMap { users[$0] }) }
    }
}

/// A group with its members, in username order.
public struct GroupWithMembers: Sendable, Equatable {
    public var group: Group
    public var members: [User]

    public init(group: Group, members: [User]) {
        self.group = group
        self.members = members
    }
}

public struct NewGroup: Sendable {
    public var name: String
    public var displayName: String
    public var organizationID: UUID
    public var avatarURL: String
    public var quotaAllowance: Int32

    public init(name: String, displayName: String = "", organizationID: UUID, avatarURL: String = "", quotaAllowance: Int32 = 0) {
        self.name = name
        self.displayName = displayName
        self.organizationID = organizationID
        self.avatarURL = avatarURL
        self.quotaAllowance = quotaAllowance
    }
}

/// A `PATCH /groups/{group}`: nil leaves a field as it is.
public struct GroupChange: Sendable {
    public var name: String?
    public var displayName: String?
    public var avatarURL: String?
    public var quotaAllowance: Int32?
    public var addUsers: [UUID]
    public var removeUsers: [UUID]

    public init(name: String? = nil, displayName: String? = nil, avatarURL: String? = nil, quotaAllowance: Int32? = nil, addUsers: [UUID] = [], removeUsers: [UUID] = []) {
        self.name = name
        self.displayName = displayName
        self.avatarURL = avatarURL
        self.quotaAllowance = quotaAllowance
        self.addUsers = addUsers
        self.removeUsers = removeUsers
    }
}

/// Which groups a list shows: of one organization (or of those a viewer may read), with a member.
public struct GroupFilter: Sendable {
    public var organizationID: UUID?
    /// Nil: every organization.
    public var organizationIDs: [UUID]?
    public var hasMember: UUID?
    public var ids: [UUID]?

    public init(organizationID: UUID? = nil, organizationIDs: [UUID]? = nil, hasMember: UUID? = nil, ids: [UUID]? = nil) {
        self.organizationID = organizationID
        self.organizationIDs = organizationIDs
        self.hasMember = hasMember
        self.ids = ids
    }
}

/// The `groups` and `group_members` tables' statements.
enum Groups {
    static let constraintFields = ["groups_name_organization_id_key": "name", "group_members_pkey": "add_users"]

    private static let columns: SQL = "g.id, g.name, g.display_name, g.organization_id, g.avatar_url, g.quota_allowance, g.source"

    static func group(_ row: PostgresRow) throws -> Group {
        Group(
            id: try row.decode("id"), name: try row.decode("name"), displayName: try row.decode("display_name"),
            organizationID: try row.decode("organization_id"), avatarURL: try row.decode("avatar_url"),
            quotaAllowance: try row.decode("quota_allowance"), source: try row.decode("source")
        )
    }

    /// Every organization's Everyone group, which shares the organization's id (as in Coder).
    static func insertEveryone(organizationID: UUID) -> PostgresQuery<Void> {
        let id = SQL.Bind(organizationID)
        return PostgresQuery("INSERT INTO groups (id, name, organization_id) VALUES (\(id), 'Everyone', \(id))")
    }

    static func insert(_ new: NewGroup) -> PostgresQuery<Group> {
        PostgresQuery(
            """
            INSERT INTO groups AS g (id, name, display_name, organization_id, avatar_url, quota_allowance)
            VALUES (\(UUID()), \(new.name), \(new.displayName), \(new.organizationID), \(new.avatarURL), \(new.quotaAllowance))
            RETURNING \(columns)
            """,
            decode: group
        )
    }

    static func withID(_ id: UUID, forUpdate: Bool = false) -> PostgresQuery<Group> {
        PostgresQuery("SELECT \(columns) FROM groups g WHERE g.id = \(id)\(unescaped: forUpdate ? " FOR UPDATE" : "")", decode: group)
    }

    static func withName(_ name: String, organizationID: UUID) -> PostgresQuery<Group> {
        PostgresQuery("SELECT \(columns) FROM groups g WHERE g.organization_id = \(organizationID) AND g.name = \(name)", decode: group)
    }

    /// By organization, Everyone first, then by name, each with its members' ids in no order
    /// (Everyone's are the organization's members): one statement for any number of groups.
    /// The Store puts members in username order once it has read them, which is cheaper than
    /// a join and a sort per group here.
    static func list(_ filter: GroupFilter) -> PostgresQuery<GroupListing> {
        // Each filter is one parameter wherever it is named, so its type is inferred once.
        let organization = SQL.Bind(filter.organizationID), organizations = SQL.Bind(filter.organizationIDs)
        let member = SQL.Bind(filter.hasMember), ids = SQL.Bind(filter.ids)
        return PostgresQuery(
            """
            SELECT \(columns), CASE WHEN g.id = g.organization_id THEN
                    ARRAY(SELECT om.user_id::text FROM organization_members om WHERE om.organization_id = g.organization_id)
                ELSE
                    ARRAY(SELECT gm.user_id::text FROM group_members gm WHERE gm.group_id = g.id)
                END AS member_ids
            FROM groups g
            WHERE (\(organization)::uuid IS NULL OR g.organization_id = \(organization))
              AND (\(organizations)::uuid[] IS NULL OR g.organization_id = ANY(\(organizations)::uuid[]))
              AND (\(member)::uuid IS NULL
                   OR EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = g.id AND gm.user_id = \(member))
                   OR (g.id = g.organization_id AND EXISTS (
                       SELECT 1 FROM organization_members om WHERE om.organization_id = g.organization_id AND om.user_id = \(member))))
              AND (\(ids)::uuid[] IS NULL OR g.id = ANY(\(ids)::uuid[]))
            ORDER BY g.organization_id, g.id <> g.organization_id, g.name
            """
        ) { row in GroupListing(group: try group(row), memberIDs: try row.decode("member_ids")) }
    }

    /// The members of every group in `ids`, in one statement: stored members, and for an
    /// Everyone group the organization's members.
    static func members(ofGroups ids: [UUID]) -> PostgresQuery<(groupID: UUID, user: User)> {
        let ids = SQL.Bind(ids)
        return PostgresQuery(
            """
            SELECT gm.group_id, \(Users.columns)
            FROM group_members gm JOIN users u ON u.id = gm.user_id
            WHERE gm.group_id = ANY(\(ids)::uuid[])
            UNION ALL
            SELECT om.organization_id AS group_id, \(Users.columns)
            FROM organization_members om JOIN users u ON u.id = om.user_id
            WHERE om.organization_id = ANY(\(ids)::uuid[])
            ORDER BY group_id, username
            """
        ) { row in (try row.decode("group_id"), try Users.user(row)) }
    }

    /// Which of `userIDs` are members of the organization.
    static func organizationMembers(_ organizationID: UUID, among userIDs: [UUID]) -> PostgresQuery<UUID> {
        PostgresQuery(
            "SELECT user_id FROM organization_members WHERE organization_id = \(organizationID) AND user_id = ANY(\(userIDs)::uuid[])",
            column: "user_id"
        )
    }

    static func update(_ id: UUID, name: String, displayName: String, avatarURL: String, quotaAllowance: Int32) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            UPDATE groups SET name = \(name), display_name = \(displayName), avatar_url = \(avatarURL), quota_allowance = \(quotaAllowance),
                updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
            WHERE id = \(id)
            """
        )
    }

    static func addMember(_ userID: UUID, to groupID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO group_members (user_id, group_id) VALUES (\(userID), \(groupID))")
    }

    /// From this group only (v0.17 matched the user alone and removed them from every group).
    static func removeMember(_ userID: UUID, from groupID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("DELETE FROM group_members WHERE user_id = \(userID) AND group_id = \(groupID)")
    }

    static func delete(_ id: UUID) -> PostgresQuery<Void> {
        PostgresQuery("DELETE FROM groups WHERE id = \(id)")
    }

    /// The groups `userID` belongs to in the organization, its Everyone included when they are a
    /// member of it: what the template ACLs are checked against.
    static func memberships(userID: UUID, organizationID: UUID) -> PostgresQuery<UUID> {
        let user = SQL.Bind(userID), organization = SQL.Bind(organizationID)
        return PostgresQuery(
            """
            SELECT gm.group_id FROM group_members gm JOIN groups g ON g.id = gm.group_id
            WHERE gm.user_id = \(user) AND g.organization_id = \(organization)
            UNION ALL
            SELECT organization_id FROM organization_members WHERE user_id = \(user) AND organization_id = \(organization)
            """,
            column: "group_id"
        )
    }
}

import Foundation
import Postgres

public struct OrganizationMembership: Sendable, Equatable, Hashable {
    public var organizationID: UUID
    public var roles: [String]
}

/// The `organization_members` table's statements.
enum OrganizationMembers {
    static func insert(userID: UUID, organizationID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO organization_members (user_id, organization_id) VALUES (\(userID), \(organizationID))")
    }

    /// The memberships of every user of `userIDs`, with the user's id, in no particular order.
    static func ofUsers(_ userIDs: [UUID]) -> PostgresQuery<(userID: UUID, membership: OrganizationMembership)> {
        PostgresQuery("SELECT user_id, organization_id, roles FROM organization_members WHERE user_id = ANY(\(userIDs)::uuid[])") { row in
            (try row.decode("user_id"), OrganizationMembership(organizationID: try row.decode("organization_id"), roles: try row.decode("roles")))
        }
    }

    /// With their organization roles, in the order they joined.
    static func ofUser(_ userID: UUID) -> PostgresQuery<OrganizationMembership> {
        PostgresQuery("SELECT organization_id, roles FROM organization_members WHERE user_id = \(userID) ORDER BY created_at") { row in
            OrganizationMembership(organizationID: try row.decode("organization_id"), roles: try row.decode("roles"))
        }
    }
}

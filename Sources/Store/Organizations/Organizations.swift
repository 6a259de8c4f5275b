import Foundation
import Postgres

public struct Organization: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var displayName: String
    public var description: String
    public var isDefault: Bool
    public var createdAt: Date
    public var updatedAt: Date
}

/// The `organizations` table's statements.
enum Organizations {
    static let constraintFields = ["organizations_name_key": "name"]

    /// Qualified, so that the same list serves the joins with `organization_members`.
    private static let columns: SQL = "o.id, o.name, o.display_name, o.description, o.is_default, o.created_at, o.updated_at"

    private static func organization(_ row: PostgresRow) throws -> Organization {
        Organization(
            id: try row.decode("id"), name: try row.decode("name"), displayName: try row.decode("display_name"),
            description: try row.decode("description"), isDefault: try row.decode("is_default"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at")
        )
    }

    private static func organizations(_ tail: SQL) -> PostgresQuery<Organization> {
        PostgresQuery("SELECT \(columns) FROM organizations o \(tail)", decode: organization)
    }

    static func withID(_ id: UUID) -> PostgresQuery<Organization> {
        organizations("WHERE o.id = \(id)")
    }

    static func withName(_ name: String) -> PostgresQuery<Organization> {
        organizations("WHERE lower(o.name) = lower(\(name))")
    }

    static let theDefault = organizations("WHERE o.is_default")

    /// The organizations `userID` is a member of, in the order they joined.
    static func ofMember(_ userID: UUID) -> PostgresQuery<Organization> {
        organizations("JOIN organization_members m ON m.organization_id = o.id WHERE m.user_id = \(userID) ORDER BY m.created_at, o.id")
    }

    /// The default organization, made with the first user.
    static func insertDefault(id: UUID, name: String) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO organizations (id, name, display_name, is_default) VALUES (\(id), \(name), \(name.capitalized), true)")
    }
}

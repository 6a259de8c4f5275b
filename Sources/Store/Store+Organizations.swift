import Foundation
import Postgres

extension Store {
    static let organizationColumns = "id, name, display_name, description, is_default, created_at, updated_at"

    static func organization(from row: PostgresRow) throws -> Organization {
        Organization(
            id: try row.decode(0), name: try row.decode(1), displayName: try row.decode(2),
            description: try row.decode(3), isDefault: try row.decode(4),
            createdAt: try row.decode(5), updatedAt: try row.decode(6)
        )
    }

    static func organization(id: UUID, on connection: isolated DatabaseConnection) throws -> Organization? {
        try connection.query("SELECT \(organizationColumns) FROM organizations WHERE id = $1", [id]).first.map(organization(from:))
    }

    public func organization(id: UUID) async throws -> Organization? {
        try await pool.query("SELECT \(Self.organizationColumns) FROM organizations WHERE id = $1", [id])
            .first.map(Self.organization(from:))
    }

    public func organization(name: String) async throws -> Organization? {
        try await pool.query("SELECT \(Self.organizationColumns) FROM organizations WHERE lower(name) = lower($1)", [name])
            .first.map(Self.organization(from:))
    }

    public func defaultOrganization() async throws -> Organization? {
        try await pool.query("SELECT \(Self.organizationColumns) FROM organizations WHERE is_default")
            .first.map(Self.organization(from:))
    }

    public func organizations(userID: UUID) async throws -> [Organization] {
        try await pool.query(
            """
            SELECT \(Self.organizationColumns.split(separator: ",").map { "o." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
            FROM organizations o JOIN organization_members m ON m.organization_id = o.id
            WHERE m.user_id = $1 ORDER BY m.created_at, o.id
            """,
            [userID]
        ).rows.map(Self.organization(from:))
    }
}

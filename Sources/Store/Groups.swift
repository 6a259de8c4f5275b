import Foundation
import Postgres

/// The `groups` table's statements.
enum Groups {
    static let constraintFields = ["groups_name_organization_id_key": "name"]

    /// Every organization's Everyone group, which shares the organization's id (as in Coder).
    static func insertEveryone(organizationID: UUID) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO groups (id, name, organization_id) VALUES ($1, 'Everyone', $1)", [organizationID])
    }
}

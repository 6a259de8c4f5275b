import Foundation
import Logging
import Postgres

/// Every SQL statement of the product lives behind this type and its extensions, one file per
/// resource. It hands out plain model values.
public struct Store: Sendable {
    public let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    public func migrate(logger: Logger) async throws -> [Int] {
        try await Migrator(pool: pool, migrations: Schema.migrations, logger: logger).up()
    }

    public func migrationStatus() async throws -> [MigrationStatus] {
        try await Migrator(pool: pool, migrations: Schema.migrations).status()
    }

    /// One trivial round trip; throws what went wrong when the database does not answer.
    public func ping() async throws {
        try await pool.query("SELECT 1")
    }

    /// True when the database answers a trivial query.
    public func isReachable() async -> Bool {
        (try? await ping()) != nil
    }
}

/// Turns unique-violations on a known constraint into `StoreError.conflict`.
func mapConstraintError(_ error: any Error) -> any Error {
    guard let error = error as? PostgresError, error.isUniqueViolation, let constraint = error.constraint else { return error }
    switch constraint {
    case "users_email_key": return StoreError.conflict(field: "email")
    case "users_username_key": return StoreError.conflict(field: "username")
    case "organizations_name_key", "groups_name_organization_id_key": return StoreError.conflict(field: "name")
    default: return error
    }
}

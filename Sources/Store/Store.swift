import Foundation
import Logging
import Postgres

/// Every SQL statement of the product lives behind this type and its extensions. Each table's
/// statements are query values (`PostgresQuery`) beside its models, in the table's file
/// (`Users.swift`); the `Store+…` files run them, on the pool or inside a transaction, and hand
/// out plain model values.
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
        try await pool.execute(Self.roundTrip)
    }

    /// True when the database answers a trivial query.
    public func isReachable() async -> Bool {
        (try? await ping()) != nil
    }

    private static let roundTrip = PostgresQuery<Void>("SELECT 1")
}

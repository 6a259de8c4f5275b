import Foundation
import Logging
import Postgres
import Store
import TestSupport

/// Runs `body` with a Store on a fresh, migrated database.
func withStore<T>(_ body: (Store, TestDatabase) async throws -> T) async throws -> T {
    let db = try await TestDatabase.create()
    return try await withPool(.init(connectionString: db.url)) { pool in
        let store = Store(pool: pool)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        _ = try await store.migrate(logger: logger)
        return try await body(store, db)
    }
}

extension Store {
    /// A user named `name`, in no organization.
    func makeUser(_ name: String) async throws -> User {
        try await createUser(NewUser(email: "\(name)@example.com", username: name, hashedPassword: "", organizationID: nil))
    }
}

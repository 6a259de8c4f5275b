import Foundation
import Logging
import Postgres
import Store
import TestSupport

/// Runs `body` with a Store on a fresh, migrated database (a copy of the migrated template).
func withStore<T>(_ body: (Store, TestDatabase) async throws -> T) async throws -> T {
    let db = try await TestDatabase.createMigrated()
    return try await withPool(.init(connectionString: db.url)) { pool in
        try await body(Store(pool: pool), db)
    }
}

extension Store {
    /// A user named `name`, in no organization.
    func makeUser(_ name: String) async throws -> User {
        try await createUser(NewUser(email: "\(name)@example.com", username: name, hashedPassword: "", organizationID: nil))
    }
}

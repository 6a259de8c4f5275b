import Foundation
import Postgres

extension Store {
    /// Every replica recomputes its entitlements on a message here (see `LicensesChange`).
    public static let licensesChannel = "licenses"

    /// Every license, expired or not, in upload order.
    public func licenses() async throws -> [StoredLicense] {
        try await pool.all(Licenses.all)
    }

    /// The licenses still inside their grace period at `now`, and the number of active users,
    /// read together: what entitlements are computed from.
    public func entitlementInputs(at now: Date) async throws -> (licenses: [StoredLicense], activeUsers: Int64) {
        try await pool.withTransaction { connection in
            (try connection.all(Licenses.unexpired(at: now)), try connection.one(Users.activeCount) ?? 0)
        }
    }

    /// Stores a verified license, records `audit` (its target becomes the new license's id) and
    /// tells every replica, in one transaction. The same JWT (or `jti`) twice is
    /// `.conflict(field: "license")`.
    public func addLicense(_ new: NewLicense, audit: AuditEntry? = nil) async throws -> StoredLicense {
        try await mappingConflicts(Licenses.constraintFields) {
            try await pool.withTransaction { connection in
                guard let license = try connection.one(Licenses.insert(new)) else {
                    throw StoreError.notFound
                }
                var entry = audit
                entry?.resourceTarget = String(license.id)
                try Self.recordAudit(entry, on: connection)
                try connection.execute(Licenses.announce(.add))
                return license
            }
        }
    }

    public func license(id: Int32) async throws -> StoredLicense? {
        try await pool.one(Licenses.withID(id))
    }

    /// Deletes the license, records `audit` and tells every replica, in one transaction;
    /// `.notFound` (and no audit row) if there is no such license.
    @discardableResult
    public func deleteLicense(id: Int32, audit: AuditEntry? = nil) async throws -> StoredLicense {
        try await pool.withTransaction { connection in
            guard let license = try connection.one(Licenses.delete(id: id)) else { throw StoreError.notFound }
            try Self.recordAudit(audit, on: connection)
            try connection.execute(Licenses.announce(.delete))
            return license
        }
    }
}

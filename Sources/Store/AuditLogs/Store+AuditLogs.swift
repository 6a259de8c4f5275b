import Foundation
import Postgres

extension Store {
    /// Writes an audit row on its own, for an event that changes nothing in the database (a
    /// change records its row in its own transaction: see `recordAudit(_:on:)`).
    public func recordAudit(_ entry: AuditEntry) async throws {
        let insert = try AuditLogs.insert(entry)
        try await pool.execute(insert)
    }

    /// Writes `entry`, if there is one, on the transaction of the change it records: a Store
    /// function that makes an audited change takes an `AuditEntry?` (nil while the audit log
    /// feature is off) and calls this before it returns, so that the change and its row commit
    /// together, and a change that fails leaves no row.
    static func recordAudit(_ entry: AuditEntry?, on connection: isolated DatabaseConnection) throws {
        guard let entry else { return }
        try connection.execute(AuditLogs.insert(entry))
    }

    /// A page of the audit rows matching `filter`, newest first, each with its acting user (nil
    /// when that user no longer exists), and how many match in all (after `page.afterID`, before
    /// its limit and offset). Filters and paging run in SQL; users are read for the page only.
    public func auditLogs(filter: AuditFilter, page: Page) async throws -> (logs: [AuditLog], count: Int) {
        // REPEATABLE READ: the count, the page and its users from one snapshot.
        try await pool.withTransaction(isolation: .repeatableRead) { connection in
            let (entries, count) = try connection.page(AuditLogs.list(filter, page: page))
            let userIDs = Array(Set(entries.compactMap(\.userID)))
            let users = userIDs.isEmpty ? [] : try connection.all(Users.withIDs(userIDs))
            let byID = Dictionary(users.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            return (entries.map { AuditLog(entry: $0, user: $0.userID.flatMap { byID[$0] }) }, count)
        }
    }
}

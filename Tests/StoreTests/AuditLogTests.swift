import Foundation
import Postgres
@testable import Store
import Testing
import WireFormat

/// The audit log's writer and reader: what goes in comes out, every filter and the paging run in
/// SQL, and a row written in a change's transaction lives and dies with the change.
@Suite struct AuditLogTests {
    /// Whole seconds, so that a row read back (microseconds) equals the entry written.
    static let base = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    static func entry(
        at seconds: TimeInterval = 0, user: UUID? = nil, type: AuditResourceType = .license, action: AuditAction = .create,
        resource: UUID = UUID(), target: String = "1", organization: UUID? = nil, request: UUID = UUID()
    ) -> AuditEntry {
        AuditEntry(
            time: base.addingTimeInterval(seconds), userID: user, organizationID: organization, resourceType: type,
            resourceID: resource, resourceTarget: target, action: action, statusCode: 201, requestID: request
        )
    }

    @Test func anEntryReadsBackWithItsUser() async throws {
        try await withStore { store, _ in
            let ann = try await store.makeUser("ann")
            let written = AuditEntry(
                time: Self.base, userID: ann.id, organizationID: UUID(), ip: "2001:db8::7", userAgent: "curl/8.0",
                resourceType: .group, resourceID: UUID(), resourceTarget: "admins", resourceIcon: "/icon/group.svg", action: .write,
                diff: ["name": AuditChange(old: .string("a"), new: .string("b")), "quota": AuditChange(old: .int(0), new: .int(5)),
                       "token": AuditChange(old: .string(""), new: .string(""), secret: true)],
                statusCode: 200, additionalFields: .object(["automatic_actor": .string("coder")]), requestID: UUID()
            )
            try await store.recordAudit(written)
            let gone = Self.entry(at: -1, user: UUID())
            try await store.recordAudit(gone)
            let v4 = AuditEntry(
                time: Self.base.addingTimeInterval(-2), userID: nil, ip: "10.1.2.3", resourceType: .license, resourceID: UUID(),
                resourceTarget: "7", action: .delete, statusCode: 200, requestID: UUID()
            )
            try await store.recordAudit(v4)

            let (logs, count) = try await store.auditLogs(filter: AuditFilter(), page: Page())
            #expect(count == 3)
            #expect(logs.map(\.entry) == [written, gone, v4])
            #expect(logs.map(\.user) == [ann, nil, nil])
        }
    }

    @Test func eachFilterSelectsInSQL() async throws {
        try await withStore { store, _ in
            let ann = try await store.makeUser("ann")
            let bob = try await store.makeUser("bob")
            let organization = UUID(), resource = UUID(), request = UUID()
            let rows = [
                Self.entry(at: 0, user: ann.id, type: .license, action: .create, target: "One"),
                Self.entry(at: 10, user: bob.id, type: .group, action: .write, resource: resource, organization: organization),
                Self.entry(at: 86_400, user: ann.id, type: .group, action: .delete, resource: resource, request: request),
                Self.entry(at: 2 * 86_400, user: nil, type: .appearance, action: .write),
            ]
            for row in rows { try await store.recordAudit(row) }
            func ids(_ filter: AuditFilter) async throws -> [UUID] {
                let (logs, count) = try await store.auditLogs(filter: filter, page: Page())
                #expect(count == logs.count)
                return logs.map(\.entry.id)
            }
            #expect(try await ids(AuditFilter()) == rows.reversed().map(\.id))
            #expect(try await ids(AuditFilter(resourceType: .group)) == [rows[2].id, rows[1].id])
            #expect(try await ids(AuditFilter(resourceType: .template)) == [])
            #expect(try await ids(AuditFilter(action: .write)) == [rows[3].id, rows[1].id])
            #expect(try await ids(AuditFilter(resourceID: resource)) == [rows[2].id, rows[1].id])
            #expect(try await ids(AuditFilter(resourceTarget: "one")) == [rows[0].id])
            #expect(try await ids(AuditFilter(userID: bob.id)) == [rows[1].id])
            #expect(try await ids(AuditFilter(username: "ANN")) == [rows[2].id, rows[0].id])
            #expect(try await ids(AuditFilter(username: "nobody")) == [])
            #expect(try await ids(AuditFilter(email: "bob@example.com")) == [rows[1].id])
            #expect(try await ids(AuditFilter(organizationID: organization)) == [rows[1].id])
            #expect(try await ids(AuditFilter(requestID: request)) == [rows[2].id])
            // `from` is inclusive, `until` exclusive.
            #expect(try await ids(AuditFilter(from: Self.base.addingTimeInterval(10))) == [rows[3].id, rows[2].id, rows[1].id])
            #expect(try await ids(AuditFilter(until: Self.base.addingTimeInterval(86_400))) == [rows[1].id, rows[0].id])
            #expect(try await ids(AuditFilter(from: Self.base.addingTimeInterval(1), until: Self.base.addingTimeInterval(86_401))) == [rows[2].id, rows[1].id])
            // Filters combine.
            #expect(try await ids(AuditFilter(resourceType: .group, action: .delete, username: "ann")) == [rows[2].id])
            #expect(try await ids(AuditFilter(resourceType: .group, username: "bob", requestID: request)) == [])
        }
    }

    @Test func pagesAreNewestFirstAndCountAllMatches() async throws {
        try await withStore { store, _ in
            var rows: [AuditEntry] = []
            for second in 0..<5 { rows.append(Self.entry(at: TimeInterval(second))) }
            // Two rows at one instant come in id order.
            let tied = [Self.entry(at: 2), Self.entry(at: 2)].sorted { $0.id.uuidString.lowercased() < $1.id.uuidString.lowercased() }
            for row in rows + tied { try await store.recordAudit(row) }
            let order = [rows[4], rows[3]] + ([rows[2]] + tied).sorted { $0.id.uuidString.lowercased() < $1.id.uuidString.lowercased() } + [rows[1], rows[0]]
            func page(_ page: Page, _ filter: AuditFilter = AuditFilter()) async throws -> ([UUID], Int) {
                let (logs, count) = try await store.auditLogs(filter: filter, page: page)
                return (logs.map(\.entry.id), count)
            }
            #expect(try await page(Page()) == (order.map(\.id), 7))
            #expect(try await page(Page(limit: 2)) == (order.prefix(2).map(\.id), 7))
            #expect(try await page(Page(limit: 3, offset: 2)) == (order[2..<5].map(\.id), 7))
            #expect(try await page(Page(offset: 6)) == ([order[6].id], 7))
            #expect(try await page(Page(offset: 9)) == ([], 7))
            // The cursor keeps the rows after it in this order, and the count follows it.
            #expect(try await page(Page(limit: 2, afterID: order[2].id)) == (order[3..<5].map(\.id), 4))
            #expect(try await page(Page(afterID: UUID())) == ([], 0))
            #expect(try await page(Page(limit: 1), AuditFilter(until: Self.base.addingTimeInterval(2))) == ([rows[1].id], 2))
        }
    }

    struct Refused: Error {}

    @Test func aRowWrittenInAFailedChangeIsGone() async throws {
        try await withStore { store, _ in
            _ = try await store.makeUser("ann")
            let thrown = Self.entry()
            await #expect(throws: Refused.self) {
                try await store.pool.withTransaction { connection in
                    try Store.recordAudit(thrown, on: connection)
                    throw Refused()
                }
            }
            // The change after the row breaks a constraint: the row goes with it.
            let conflicted = Self.entry(type: .user, action: .create)
            await #expect(throws: PostgresError.self) {
                try await store.pool.withTransaction { connection in
                    try Store.recordAudit(conflicted, on: connection)
                    try connection.execute(Users.insert(NewUser(email: "ANN@example.com", username: "ann2", hashedPassword: "", organizationID: nil)))
                }
            }
            // And a row that cannot be written takes its change down: no change goes unrecorded.
            var badAddress = Self.entry(type: .user, action: .create)
            badAddress.ip = "not an address"
            let unwritable = badAddress
            await #expect(throws: PostgresError.self) {
                try await store.pool.withTransaction { connection in
                    try connection.execute(Users.insert(NewUser(email: "cid@example.com", username: "cid", hashedPassword: "", organizationID: nil)))
                    try Store.recordAudit(unwritable, on: connection)
                }
            }
            #expect(try await store.user(username: "cid") == nil)
            #expect(try await store.auditLogs(filter: AuditFilter(), page: Page()).count == 0)

            // A change that commits keeps its row; nil (the feature off) writes none.
            let committed = Self.entry(type: .user, action: .create)
            try await store.pool.withTransaction { connection in
                try connection.execute(Users.insert(NewUser(email: "dee@example.com", username: "dee", hashedPassword: "", organizationID: nil)))
                try Store.recordAudit(committed, on: connection)
                try Store.recordAudit(nil, on: connection)
            }
            #expect(try await store.auditLogs(filter: AuditFilter(), page: Page()).logs.map(\.entry) == [committed])
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Licensing
import Store
import Testing
import WireFormat
@testable import API

/// `GET /api/v2/audit`: who may read it, its shape, Coder's search syntax, paging; and the
/// recorder that mutating handlers build their entries with.
@Suite struct AuditTests {
    static let base = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    static func entry(
        at seconds: TimeInterval, user: UUID?, type: AuditResourceType = .license, action: AuditAction = .create,
        resource: UUID = UUID(), target: String = "1", organization: UUID? = nil, request: UUID = UUID()
    ) -> AuditEntry {
        AuditEntry(
            time: base.addingTimeInterval(seconds), userID: user, organizationID: organization, resourceType: type,
            resourceID: resource, resourceTarget: target, action: action, statusCode: 201, requestID: request
        )
    }

    /// `q` percent-encoded, spaces and quotes included.
    static func audit(_ q: String? = nil, _ extra: String = "") -> String {
        var path = "/api/v2/audit"
        var parameters: [String] = []
        if let q { parameters.append("q=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q)) }
        if !extra.isEmpty { parameters.append(extra) }
        if !parameters.isEmpty { path += "?" + parameters.joined(separator: "&") }
        return path
    }

    /// A user holding `roles`, logged in.
    static func login(_ client: TestClient, _ store: Store, _ name: String, roles: [String], organizationID: UUID) async throws -> String {
        let password = "An0ther-Passw0rd!"
        _ = try await store.createUser(NewUser(
            email: "\(name)@example.com", username: name, hashedPassword: try Passwords.hash(password, parameters: .testCost), siteRoles: roles, organizationID: organizationID
        ))
        return try await client.login("\(name)@example.com", password)
    }

    /// Every feature but the audit log: the tests of reading write their rows themselves, and the
    /// app's own changes (logins, new users) then add none.
    static let auditLogOff = Only(enabled: Set(FeatureName.allCases).subtracting([.auditLog]))

    @Test func ownersAndAuditorsReadItOthersAreRefused() async throws {
        try await withApp(features: Self.auditLogOff) { client, store in
            let owner = try await client.setUpOwner()
            let group = UUID()
            let written = AuditEntry(
                time: Self.base, userID: owner.userID, organizationID: owner.organizationID, ip: "10.0.0.9", userAgent: "curl/8",
                resourceType: .group, resourceID: group, resourceTarget: "admins", action: .write,
                diff: ["name": AuditChange(old: .string("staff"), new: .string("admins"))], statusCode: 200,
                additionalFields: .object(["k": .int(1)]), requestID: UUID()
            )
            try await store.recordAudit(written)
            try await store.recordAudit(Self.entry(at: -60, user: UUID()))

            let response = try await client.request(.get, Self.audit(), token: owner.token)
            #expect(response.status == .ok)
            #expect(try response.json["count"] as? Int == 2)
            let logs = try #require(try response.json["audit_logs"] as? [[String: Any]])
            #expect(logs.count == 2)
            let first = logs[0]
            #expect(Set(first.keys) == [
                "id", "request_id", "time", "organization_id", "ip", "user_agent", "resource_type", "resource_id", "resource_target",
                "resource_icon", "action", "diff", "status_code", "additional_fields", "description", "resource_link", "is_deleted", "user",
            ])
            #expect(first["id"] as? String == written.id.uuidString.lowercased())
            #expect(first["request_id"] as? String == written.requestID.uuidString.lowercased())
            #expect(first["time"] as? String == "2026-01-01T00:00:00Z" || (first["time"] as? String)?.hasPrefix("2026-01-01T00:00:00") == true)
            #expect(first["organization_id"] as? String == owner.organizationID.uuidString.lowercased())
            #expect(first["ip"] as? String == "10.0.0.9")
            #expect(first["user_agent"] as? String == "curl/8")
            #expect(first["resource_type"] as? String == "group")
            #expect(first["resource_id"] as? String == group.uuidString.lowercased())
            #expect(first["resource_target"] as? String == "admins")
            #expect(first["action"] as? String == "write")
            #expect(first["status_code"] as? Int == 200)
            #expect(first["description"] as? String == "{user} updated group {target}")
            #expect(first["is_deleted"] as? Bool == false)
            #expect((first["additional_fields"] as? [String: Any])?["k"] as? Int == 1)
            let name = (first["diff"] as? [String: Any])?["name"] as? [String: Any]
            #expect(name?["old"] as? String == "staff")
            #expect(name?["new"] as? String == "admins")
            #expect(name?["secret"] as? Bool == false)
            let user = first["user"] as? [String: Any]
            #expect(user?["username"] as? String == "owner")
            #expect(user?["id"] as? String == owner.userID.uuidString.lowercased())
            #expect((user?["roles"] as? [[String: Any]])?.first?["name"] as? String == "owner")

            // A deployment-wide row from a user who is gone: Go's zero values and a null user.
            let second = logs[1]
            #expect(second["user"] is NSNull)
            #expect(second["organization_id"] as? String == "00000000-0000-0000-0000-000000000000")
            #expect(second["ip"] as? String == "")
            #expect(second["description"] as? String == "{user} created license {target}")

            let auditor = try await Self.login(client, store, "audrey", roles: ["auditor"], organizationID: owner.organizationID)
            let seen = try await client.request(.get, Self.audit(), token: auditor)
            #expect(seen.status == .ok)
            #expect(try seen.json["count"] as? Int == 2)

            for roles in [[], ["user-admin"], ["template-admin"]] {
                let other = try await Self.login(client, store, "u\(roles.count)\(roles.first?.prefix(1) ?? "")", roles: roles, organizationID: owner.organizationID)
                let refused = try await client.request(.get, Self.audit(), token: other)
                #expect(refused.status == .forbidden)
                #expect(try refused.message == "Forbidden.")
            }
            let anonymous = try await client.request(.get, Self.audit())
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func eachSearchKeyFilters() async throws {
        try await withApp(features: Self.auditLogOff) { client, store in
            let owner = try await client.setUpOwner()
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            let resource = UUID(), request = UUID()
            let rows = [
                Self.entry(at: 0, user: owner.userID, type: .license, action: .create, target: "Two Words"),
                Self.entry(at: 60, user: bob.id, type: .group, action: .write, resource: resource, organization: owner.organizationID),
                Self.entry(at: 86_400 + 5, user: owner.userID, type: .group, action: .delete, resource: resource, request: request),
                Self.entry(at: 2 * 86_400 + 86_399, user: nil, type: .appearance, action: .write),
            ]
            for row in rows { try await store.recordAudit(row) }
            func ids(_ q: String) async throws -> [String] {
                let response = try await client.request(.get, Self.audit(q), token: owner.token)
                #expect(response.status == .ok, "\(q): \(String(decoding: response.body, as: UTF8.self))")
                let logs = try response.json["audit_logs"] as? [[String: Any]] ?? []
                #expect(try response.json["count"] as? Int == logs.count)
                return logs.compactMap { $0["id"] as? String }
            }
            func expected(_ indexes: Int...) -> [String] { indexes.map { rows[$0].id.uuidString.lowercased() } }

            #expect(try await ids("") == expected(3, 2, 1, 0))
            #expect(try await ids("resource_type:group") == expected(2, 1))
            #expect(try await ids("license") == expected(0))  // a bare term is a resource type
            #expect(try await ids("RESOURCE_TYPE:Appearance") == expected(3))  // lowercased, as Coder's
            #expect(try await ids("action:write") == expected(3, 1))
            #expect(try await ids("resource_id:\(resource.uuidString)") == expected(2, 1))
            #expect(try await ids("resource_target:\"two words\"") == expected(0))
            #expect(try await ids("username:bob") == expected(1))
            #expect(try await ids("email:owner@example.com") == expected(2, 0))
            #expect(try await ids("request_id:\(request.uuidString)") == expected(2))
            #expect(try await ids("organization:\(owner.organizationID.uuidString)") == expected(1))
            #expect(try await ids("organization:coder") == expected(1))
            // Both days included, in UTC.
            #expect(try await ids("date_from:2026-01-02") == expected(3, 2))
            #expect(try await ids("date_to:2026-01-01") == expected(1, 0))
            #expect(try await ids("date_from:2026-01-02 date_to:2026-01-02") == expected(2))
            #expect(try await ids("date_to:2026-01-03") == expected(3, 2, 1, 0))
            #expect(try await ids("action:write username:bob resource_type:group") == expected(1))
            #expect(try await ids("action:create username:bob") == [])
        }
    }

    @Test func aBadQueryIsCodersValidation() async throws {
        try await withApp { client, store in
            let owner = try await client.setUpOwner()
            let bad = try await client.request(.get, Self.audit("action:nope resource_id:xyz date_from:2026-02-30 resource_type:gizmo colour:red"), token: owner.token)
            #expect(bad.status == .badRequest)
            #expect(try bad.message == "Invalid audit search query.")
            #expect(try bad.validationFields == ["resource_id", "date_from", "resource_type", "action", "colour"])
            let details = try (bad.json["validations"] as? [[String: Any]] ?? []).compactMap { $0["detail"] as? String }
            #expect(details.contains("Query param \"resource_id\" must be a valid uuid"))
            #expect(details.contains("Query param \"action\" has invalid value: \"nope\" is not a valid value"))
            #expect(details.contains("Query param \"colour\" is not a valid query param"))
            #expect(details.contains { $0.hasPrefix("Query param \"date_from\" must be a valid date format (2006-01-02)") })

            for q in ["a:b:c", ":license", "action:", "date_to:01/02/2026"] {
                let refused = try await client.request(.get, Self.audit(q), token: owner.token)
                #expect(refused.status == .badRequest, "\(q)")
                #expect(try refused.message == "Invalid audit search query.")
            }
            let colon = try await client.request(.get, Self.audit("a:b:c"), token: owner.token)
            #expect(colon.status == .badRequest)
            #expect(try colon.validationFields == ["q"])
            let organization = try await client.request(.get, Self.audit("organization:nowhere"), token: owner.token)
            #expect(organization.status == .badRequest)
            #expect(try organization.validationFields == ["organization"])
            _ = store
        }
    }

    @Test func pagingIsLimitAndOffsetWithTheFullCount() async throws {
        try await withApp(features: Self.auditLogOff) { client, store in
            let owner = try await client.setUpOwner()
            var rows: [AuditEntry] = []
            for minute in 0..<5 { rows.append(Self.entry(at: TimeInterval(minute * 60), user: owner.userID)) }
            for row in rows { try await store.recordAudit(row) }
            let newest = rows.reversed().map { $0.id.uuidString.lowercased() }
            func page(_ query: String) async throws -> (ids: [String], count: Int?) {
                let response = try await client.request(.get, Self.audit(nil, query), token: owner.token)
                #expect(response.status == .ok)
                return try ((response.json["audit_logs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }, response.json["count"] as? Int)
            }
            #expect(try await page("limit=2") == (Array(newest[0..<2]), 5))
            #expect(try await page("limit=2&offset=2") == (Array(newest[2..<4]), 5))
            #expect(try await page("offset=4") == ([newest[4]], 5))
            #expect(try await page("limit=0") == (newest, 5))
            let filtered = try await client.request(.get, Self.audit("action:create", "limit=1"), token: owner.token)
            #expect(filtered.status == .ok)
            #expect(try filtered.json["count"] as? Int == 5)
            let bad = try await client.request(.get, Self.audit(nil, "limit=-1"), token: owner.token)
            #expect(bad.status == .badRequest)
            #expect(try bad.validationFields == ["limit"])
        }
    }

    struct Only: FeatureProvider {
        let enabled: Set<FeatureName>
        func isEnabled(_ feature: FeatureName) -> Bool { enabled.contains(feature) }
    }

    struct Snapshot: Encodable {
        let name: String
        let secret: String
        let at: Date
    }

    /// A route that records what the recorder builds, as a mutating handler would.
    static func recordingRouter(_ store: Store, features: some FeatureProvider, proxyTrust: ProxyTrust = ProxyTrust()) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let recorder = AuditRecorder(features: features, proxyTrust: proxyTrust)
        router.post("change") { request, context -> String in
            let entry = try recorder.trail(request, context).record(
                .appearance, id: UUID(), target: "appearance", action: .write,
                old: Snapshot(name: "a", secret: "s1", at: Self.base), new: Snapshot(name: "b", secret: "s2", at: Self.base),
                secretFields: ["secret"], status: .ok
            )
            guard let entry else { return "off" }
            try await store.recordAudit(entry)
            return entry.id.uuidString
        }
        return router
    }

    static func withRecordingApp(features: some FeatureProvider, _ body: @escaping @Sendable (any TestClientProtocol, Store) async throws -> Void) async throws {
        let (_, store) = try await migratedStore()
        do {
            try await Application(router: recordingRouter(store, features: features)).test(.router) { client in try await body(client, store) }
            await store.pool.close()
        } catch {
            await store.pool.close()
            throw error
        }
    }

    @Test func theRecorderFillsTheEntryFromTheRequest() async throws {
        try await Self.withRecordingApp(features: AllFeaturesEnabled()) { client, store in
            var headers = HTTPFields()
            headers[.userAgent] = "coder-cli/2.0 " + String(repeating: "x", count: 2000)
            let requestHeader = try await client.execute(uri: "/change", method: .post, headers: headers) { response in
                #expect(response.status == .ok)
                return response.headers[HTTPField.Name("X-Request-Id")!]
            }
            let (logs, count) = try await store.auditLogs(filter: AuditFilter(), page: Page())
            #expect(count == 1)
            let entry = try #require(logs.first?.entry)
            #expect(entry.resourceType == .appearance)
            #expect(entry.action == .write)
            #expect(entry.statusCode == 200)
            #expect(entry.userID == nil)
            #expect(entry.userAgent.hasPrefix("coder-cli/2.0 "))
            #expect(entry.userAgent.count == AuditRecorder.maximumUserAgentLength)
            #expect(entry.diff == [
                "name": AuditChange(old: .string("a"), new: .string("b")),
                "secret": AuditChange(old: .string(""), new: .string(""), secret: true),
            ])
            // The row's request id is the response's X-Request-Id, as a uuid.
            let header = try #require(requestHeader)
            #expect(entry.requestID == AuditRecorder.requestUUID(header))
            let digits = entry.requestID.uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            #expect(digits.hasSuffix(header.lowercased()))
        }
    }

    @Test func theRecorderWritesNothingWhileTheFeatureIsOff() async throws {
        try await Self.withRecordingApp(features: Only(enabled: [.scim])) { client, store in
            try await client.execute(uri: "/change", method: .post) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "off")
            }
            #expect(try await store.auditLogs(filter: AuditFilter(), page: Page()).count == 0)
        }
    }

    @Test func onlyOwnersAndAuditorsReadTheLogAndNobodyWritesIt() {
        func subject(_ roles: Set<String>) -> Subject {
            Subject(userID: UUID(), username: "s", siteRoles: roles, organizations: [UUID(): []], apiKeyID: "k")
        }
        #expect(RBAC.can(subject(["owner"]), .read, .auditLog))
        #expect(RBAC.can(subject(["auditor"]), .read, .auditLog))
        for action in [Action.create, .update, .delete] { #expect(!RBAC.can(subject(["auditor"]), action, .auditLog)) }
        for roles in [[], ["user-admin"], ["template-admin"]] as [Set<String>] { #expect(!RBAC.can(subject(roles), .read, .auditLog)) }
    }

    @Test func requestIDsBecomeUUIDs() {
        #expect(AuditRecorder.requestUUID("1a2b0000000000000003") == UUID(uuidString: "00000000-0000-1a2b-0000-000000000003")!)
        let hex = "9f86d081884c7d659a2feaa0c55ad015"
        #expect(AuditRecorder.requestUUID(hex) == UUID(uuidString: "9f86d081-884c-7d65-9a2f-eaa0c55ad015")!)
        // Another shape is hashed: stable, and not the same as a neighbour.
        #expect(AuditRecorder.requestUUID("req-1") == AuditRecorder.requestUUID("req-1"))
        #expect(AuditRecorder.requestUUID("req-1") != AuditRecorder.requestUUID("req-2"))
    }

    @Test func searchTermsSplitAsCoders() throws {
        #expect(SearchQuery.split("a:\"b c\" d", on: " ", keepingQuotes: true) == ["a:\"b c\"", "d"])
        #expect(SearchQuery.split("a:\"b c\"", on: ":", keepingQuotes: false) == ["a", "b c"])
        var terms = try SearchQuery("resource_type:license some words action:create", defaultKey: "search")
        #expect(terms.value("resource_type") == "license")
        #expect(terms.value("search") == "some words")
        #expect(terms.excessKeys == ["action"])
    }
}

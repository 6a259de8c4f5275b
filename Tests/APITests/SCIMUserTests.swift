import Foundation
import HTTPTypes
import Store
import Testing

/// A client speaking SCIM with the key.
struct SCIMClient {
    let client: TestClient
    /// Coder's base path (RFC 7643 resources only) by default; the seed's, `/api/v2/scim/v2`,
    /// also gives Users codersdk.User's keys.
    var base = "/scim/v2"
    static let key = "scim-key-0123456789"
    static let seedBase = "/api/v2/scim/v2"

    func callAsFunction(_ method: HTTPRequest.Method, _ path: String, _ json: Any? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.authorization] = "Bearer \(Self.key)"
        return try await client.request(method, base + path, json: json, headers: headers)
    }

    func create(_ userName: String, email: String? = nil, active: Bool = true, extra: [String: Any] = [:]) async throws -> TestResponse {
        var body: [String: Any] = [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": userName,
            "name": ["givenName": "Given", "familyName": "Family"],
            "emails": [["primary": true, "value": email ?? userName, "type": "work", "display": email ?? userName]],
            "active": active,
        ]
        for (key, value) in extra { body[key] = value }
        return try await self(.post, "/Users", body)
    }
}

extension TestResponse {
    var resources: [[String: Any]] { get throws { try json["Resources"] as? [[String: Any]] ?? [] } }
    var scimType: String? { get throws { try json["scimType"] as? String } }
    /// A refusal's status and scimType in one, "400 invalidValue": for the checks that send a
    /// request only to see it refused, so that the status is asserted with the body it came with.
    var refusal: String {
        get throws {
            let type = try scimType
            return "\(status.code) \(type ?? "(no scimType)")"
        }
    }
    /// Whether this is a SCIM error response. Does not throw: it tells error bodies apart, and a
    /// body that is not a JSON object is, by that, not a SCIM error (false), which the test's
    /// `#expect` then reports.
    var isSCIMError: Bool {
        guard let json = try? self.json else { return false }
        return headers[.contentType] == "application/scim+json" && (json["schemas"] as? [String]) == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            && json["status"] as? String == String(status.code)
    }
}

func filterQuery(_ filter: String) -> String {
    "filter=" + filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
}

/// SCIM Users over a real database: the Okta and Entra request sequences of
/// `reference/idp-scim-behaviour.md`, linking of existing users, filters in SQL, paging,
/// projection, ETags, deprovisioning, and every refusal as a SCIM error.
@Suite struct SCIMUserTests {
    @Test func oktasSequenceCreatesUpdatesDeactivatesAndReactivates() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, store, _ in
            let owner = try await licensedOwner(client)
            let scim = SCIMClient(client: client, base: SCIMClient.seedBase)
            // 1. Connection test: integer counts; the owner (a user from before SCIM) is listed.
            let probe = try await scim(.get, "/Users?startIndex=1&count=2")
            #expect(probe.status == .ok)
            #expect(probe.headers[.contentType] == "application/scim+json")
            #expect(try probe.json["totalResults"] as? Int == 1)
            #expect(try probe.json["startIndex"] as? Int == 1)
            #expect(try probe.json["itemsPerPage"] as? Int == 1)
            #expect(try probe.resources.first?["userName"] as? String == "owner")
            // 2. Existence check.
            let existing = try await scim(.get, "/Users?" + filterQuery(#"userName eq "alice@example.com""#))
            #expect(existing.status == .ok)
            #expect(try existing.json["totalResults"] as? Int == 0)
            // 3. Create.
            let created = try await scim.create("alice@example.com")
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            #expect(created.headers[.location] == "http://localhost/api/v2/scim/v2/Users/\(id)")
            let meta = try #require(try created.json["meta"] as? [String: Any])
            #expect(meta["resourceType"] as? String == "User")
            #expect(meta["location"] as? String == created.headers[.location])
            #expect(meta["version"] as? String == created.headers[.eTag])
            #expect(meta["created"] is String && meta["lastModified"] is String)
            #expect(try created.json["active"] as? Bool == true)
            #expect(try created.json["username"] as? String == "alice")
            // At Coder's base path the same user is a plain RFC 7643 resource (strict SCIM
            // clients refuse keys their schema does not name).
            let plain = try await SCIMClient(client: client)(.get, "/Users/\(id)")
            #expect(plain.status == .ok)
            #expect(try plain.json["userName"] as? String == "alice@example.com")
            #expect(try plain.json["username"] == nil && plain.json["status"] == nil && plain.json["avatar_url"] == nil)
            #expect(try (plain.json["meta"] as? [String: Any])?["location"] as? String == "http://localhost/scim/v2/Users/\(id)")
            let product = try #require(try await store.user(id: UUID(uuidString: id)!))
            #expect(product.loginType == "oidc" && product.hashedPassword.isEmpty && product.username == "alice")
            #expect(product.organizationIDs == [owner.organizationID])
            let listed = try await client.request(.get, "/api/v2/users?q=alice", token: owner.token)
            #expect(listed.status == .ok)
            #expect(try (listed.json["users"] as? [[String: Any]])?.first?["id"] as? String == id)
            // Found by filter now, case-insensitively; creating it again is a uniqueness conflict.
            let found = try await scim(.get, "/Users?" + filterQuery(#"userName eq "ALICE@example.com""#))
            #expect(found.status == .ok)
            #expect(try found.resources.map { $0["id"] as? String } == [id])
            let again = try await scim.create("alice@example.com")
            #expect(try again.status == .conflict && again.scimType == "uniqueness" && again.isSCIMError)
            // 4. Profile push with PUT.
            let put = try await scim(.put, "/Users/\(id)", [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice@example.com",
                "name": ["givenName": "Alice", "familyName": "Liddell"], "title": "Explorer",
                "emails": [["primary": true, "value": "alice@example.com", "type": "work"]], "active": true,
            ])
            #expect(put.status == .ok)
            #expect(try (put.json["name"] as? [String: Any])?["givenName"] as? String == "Alice")
            #expect(try put.json["title"] as? String == "Explorer")
            #expect(put.headers[.eTag] != created.headers[.eTag])
            // 5. Deactivate: pathless replace of {"active": false}.
            let off = try await scim(.patch, "/Users/\(id)", [
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [["op": "replace", "value": ["active": false]]],
            ])
            #expect(try off.status == .ok && off.json["active"] as? Bool == false && off.json["status"] as? String == "suspended")
            #expect(try await store.user(id: UUID(uuidString: id)!)?.status == .suspended)
            #expect(try (put.json["name"] as? [String: Any])?["familyName"] as? String == "Liddell")
            // 6. Reactivate: active again (dormant until the next login, as Coder does).
            let on = try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "active", "value": true]]])
            #expect(on.status == .ok)
            #expect(try on.json["active"] as? Bool == true && on.json["status"] as? String == "dormant")
            // Every change is audited as SCIM's, with no acting user.
            let audit = try await client.request(.get, "/api/v2/audit?q=resource_type%3Auser", token: owner.token)
            #expect(audit.status == .ok)
            let rows = try audit.json["audit_logs"] as? [[String: Any]] ?? []
            let scimRows = rows.filter { ($0["additional_fields"] as? [String: Any])?["automatic_subsystem"] as? String == "scim" }
            #expect(scimRows.count == 4)
            #expect(scimRows.allSatisfy { ($0["additional_fields"] as? [String: Any])?["automatic_actor"] as? String == "coder" })
            #expect(Set(scimRows.compactMap { $0["action"] as? String }) == ["create", "write"])
        }
    }

    @Test func entrasQuirksArePatchedAsMeant() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, store, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let created = try await scim.create("bo@contoso.com", extra: ["externalId": "e-123"])
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            let exact = try await scim(.get, "/Users?" + filterQuery(#"externalId eq "e-123""#))
            #expect(exact.status == .ok)
            #expect(try exact.resources.count == 1)
            // externalId is case-exact.
            let otherCase = try await scim(.get, "/Users?" + filterQuery(#"externalId eq "E-123""#))
            #expect(otherCase.status == .ok)
            #expect(try otherCase.resources.isEmpty)
            let patched = try await scim(.patch, "/Users/\(id)", [
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    ["op": "Replace", "path": "active", "value": "False"],
                    ["op": "Add", "path": "name.givenName", "value": "Bo"],
                    ["op": "Replace", "path": #"emails[type eq "work"].value"#, "value": "bo.new@contoso.com"],
                    ["op": "Add", "path": #"phoneNumbers[type eq "mobile"].value"#, "value": "+1 555 0100"],
                    ["op": "Replace", "value": ["displayName": "Bo B", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "Ops"]]],
                ],
            ])
            #expect(patched.status == .ok)
            #expect(try patched.json["active"] as? Bool == false)
            #expect(try (patched.json["name"] as? [String: Any])?["givenName"] as? String == "Bo")
            #expect(try (patched.json["name"] as? [String: Any])?["familyName"] as? String == "Family")
            #expect(try (patched.json["emails"] as? [[String: Any]])?.first?["value"] as? String == "bo.new@contoso.com")
            #expect(try (patched.json["phoneNumbers"] as? [[String: Any]])?.first?["type"] as? String == "mobile")
            #expect(try patched.json["displayName"] as? String == "Bo B")
            #expect(try (patched.json["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] as? [String: Any])?["department"] as? String == "Ops")
            #expect(try (patched.json["schemas"] as? [String])?.count == 2)
            // The primary email is the product user's.
            #expect(try await store.user(id: UUID(uuidString: id)!)?.email == "bo.new@contoso.com")
            // Pathless replace with a string boolean reactivates.
            let on = try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "Replace", "value": ["active": "True"]]]])
            #expect(on.status == .ok)
            #expect(try on.json["active"] as? Bool == true)
            // Remove by filtered path, and of a sub-attribute.
            let removed = try await scim(.patch, "/Users/\(id)", ["Operations": [
                ["op": "Remove", "path": #"phoneNumbers[type eq "mobile"]"#],
                ["op": "remove", "path": "name.givenName"],
            ]])
            // Both checks below are of absence, which a SCIM error body passes too: the status first.
            try #require(removed.status == .ok)
            #expect(try removed.json["phoneNumbers"] == nil)
            #expect(try (removed.json["name"] as? [String: Any])?["givenName"] == nil)
        }
    }

    @Test func anExistingUserIsLinkedNotDuplicatedAndReactivated() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, store, _ in
            let owner = try await licensedOwner(client)
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            #expect(try await client.request(.put, "/api/v2/users/\(bob.id.uuidString)/status/suspend", token: owner.token).status == .ok)
            let scim = SCIMClient(client: client, base: SCIMClient.seedBase)
            let linked = try await scim.create("Bob.Builder@Example.com", email: "bob@example.com")
            #expect(linked.status == .ok)
            #expect(try linked.json["id"] as? String == bob.id.uuidString.lowercased())
            #expect(try linked.json["userName"] as? String == "Bob.Builder@Example.com")
            #expect(try linked.json["username"] as? String == "bob")
            #expect(try await store.user(id: bob.id)?.status == .dormant)
            let users = try await scim(.get, "/Users")
            #expect(users.status == .ok)
            #expect(try users.json["totalResults"] as? Int == 2)
            // Deactivation by the IdP ends the user's sessions at once, as a suspension by an admin does.
            #expect(try await client.request(.put, "/api/v2/users/\(bob.id.uuidString)/status/activate", token: owner.token).status == .ok)
            let session = try await client.login("bob@example.com", "An0ther-Passw0rd!")
            #expect(try await client.request(.get, "/api/v2/users/me", token: session).status == .ok)
            #expect(try await scim(.patch, "/Users/\(bob.id.uuidString)", ["Operations": [["op": "replace", "path": "active", "value": false]]]).status == .ok)
            #expect(try await client.request(.get, "/api/v2/users/me", token: session).status == .unauthorized)
            // A second IdP user with the same userName is refused.
            let duplicate = try await scim.create("bob.builder@example.com", email: "other@example.com")
            #expect(try duplicate.status == .conflict && duplicate.scimType == "uniqueness")
        }
    }

    @Test func usernamesAreNormalizedAsCoderDoes() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client, base: SCIMClient.seedBase)
            let first = try await scim.create("Jane_Doe+dev@example.com")
            #expect(first.status == .created)
            #expect(try first.json["username"] as? String == "jane-doe-dev")
            let second = try await scim.create("jane.doe.dev@other.example", extra: ["emails": [["value": "jd2@example.com", "primary": true]]])
            #expect(second.status == .created)
            let name = try #require(try second.json["username"] as? String)
            #expect(name.hasPrefix("jane-doe-dev-") && name.count == "jane-doe-dev-".count + 4)
            let plain = try await scim.create("ok-name", email: "ok@example.com")
            #expect(plain.status == .created)
            #expect(try plain.json["username"] as? String == "ok-name")
        }
    }

    @Test func filtersSortingPagingAndProjectionRunAsAsked() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            for (index, name) in ["ann", "ben", "cat", "dan", "eve"].enumerated() {
                let created = try await scim.create("\(name)@example.com", extra: ["title": index.isMultiple(of: 2) ? "Engineer" : "Manager"])
                #expect(created.status == .created)
            }
            func names(_ query: String) async throws -> [String] {
                let response = try await scim(.get, "/Users?" + query)
                #expect(response.status == .ok, "\(query)")
                return try response.resources.compactMap { $0["userName"] as? String }
            }
            #expect(try await names(filterQuery(#"userName sw "b""#)) == ["ben@example.com"])
            #expect(try await names(filterQuery(#"userName ew "T@EXAMPLE.COM""#)) == ["cat@example.com"])
            #expect(try await names(filterQuery(#"userName co "an""#)) == ["ann@example.com", "dan@example.com"])
            #expect(try await names(filterQuery(#"title eq "Manager" and not (userName eq "ben@example.com")"#)) == ["dan@example.com"])
            #expect(try await names(filterQuery(#"userName eq "ann@example.com" or userName eq "eve@example.com""#)) == ["ann@example.com", "eve@example.com"])
            #expect(try await names(filterQuery(#"emails[type eq "work" and value co "eve"]"#)) == ["eve@example.com"])
            #expect(try await names(filterQuery(#"emails.value eq "cat@example.com""#)) == ["cat@example.com"])
            #expect(try await names(filterQuery("title pr")).count == 5)
            #expect(try await names(filterQuery("active eq true")).count == 6)
            #expect(try await names(filterQuery(#"meta.created gt "2000-01-01T00:00:00Z""#)).count == 6)
            // In creation order without sortBy: the owner came first.
            #expect(try await names(filterQuery(#"userName gt "dan@example.com""#)) == ["owner", "eve@example.com"])
            // Sorting and paging: totalResults counts every match, itemsPerPage the page.
            let page = try await scim(.get, "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2&" + filterQuery(#"userName ew "example.com""#))
            #expect(page.status == .ok)
            #expect(try page.json["totalResults"] as? Int == 5)
            #expect(try page.json["startIndex"] as? Int == 2 && page.json["itemsPerPage"] as? Int == 2)
            #expect(try page.resources.compactMap { $0["userName"] as? String } == ["dan@example.com", "cat@example.com"])
            // A short last page of a filtered list: the total is still every match.
            let tail = try await scim(.get, "/Users?startIndex=5&count=10&" + filterQuery(#"userName ew "example.com""#))
            #expect(tail.status == .ok)
            #expect(try tail.json["totalResults"] as? Int == 5 && tail.resources.count == 1)
            let beyond = try await scim(.get, "/Users?startIndex=9&count=10&" + filterQuery(#"userName ew "example.com""#))
            #expect(beyond.status == .ok)
            #expect(try beyond.json["totalResults"] as? Int == 5 && beyond.resources.isEmpty)
            let countOnly = try await scim(.get, "/Users?count=0")
            #expect(countOnly.status == .ok)
            #expect(try countOnly.json["totalResults"] as? Int == 6 && countOnly.resources.isEmpty)
            // Projection.
            let projected = try await scim(.get, "/Users?attributes=userName,name.givenName&" + filterQuery(#"userName eq "ann@example.com""#))
            #expect(projected.status == .ok)
            let only = try #require(try projected.resources.first)
            #expect(Set(only.keys) == ["id", "schemas", "userName", "name"])
            #expect((only["name"] as? [String: Any])?.keys.sorted() == ["givenName"])
            let excluded = try await scim(.get, "/Users?excludedAttributes=emails,meta&" + filterQuery(#"userName eq "ann@example.com""#))
            #expect(excluded.status == .ok)
            #expect(try excluded.resources.first?["emails"] == nil && excluded.resources.first?["meta"] == nil && excluded.resources.first?["userName"] != nil)
            // POST /.search takes the same in a body.
            let search = try await scim(.post, "/Users/.search", ["filter": #"title eq "Engineer""#, "sortBy": "userName", "count": 2, "attributes": ["userName"]])
            #expect(search.status == .ok)
            #expect(try search.json["totalResults"] as? Int == 3)
            #expect(try search.resources.compactMap { $0["userName"] as? String } == ["ann@example.com", "cat@example.com"])
        }
    }

    @Test func badFiltersAndBodiesAreSCIMErrorsNever500() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client, base: SCIMClient.seedBase)
            for filter in [#"userName eq"#, #"userName xx "a""#, #"nosuch eq "a""#, "active eq \"yes\"", "active gt true", #"meta.created gt "not a date""#, "((((", String(repeating: "a", count: 5000)] {
                let response = try await scim(.get, "/Users?" + filterQuery(filter))
                #expect(try response.status == .badRequest && response.scimType == "invalidFilter" && response.isSCIMError, "\(filter.prefix(40))")
            }
            #expect(try await scim(.get, "/Users?count=many").refusal == "400 invalidValue")
            #expect(try await scim(.get, "/Users?sortOrder=up").refusal == "400 invalidValue")
            let notJSON = try await client.request(.post, "/scim/v2/Users", rawBody: "{", headers: [.authorization: "Bearer \(SCIMClient.key)"])
            #expect(try notJSON.status == .badRequest && notJSON.scimType == "invalidSyntax")
            #expect(try await scim.create("x@example.com", extra: ["shoeSize": 42]).refusal == "400 invalidValue")
            #expect(try await scim.create("y@example.com", extra: ["password": "hunter2"]).refusal == "400 invalidValue")
            #expect(try await scim.create("z@example.com", extra: ["active": 3]).refusal == "400 invalidValue")
            #expect(try await scim(.post, "/Users", ["name": ["givenName": "No"]]).refusal == "400 invalidValue")
            // No email: the product user gets a non-deliverable placeholder; SCIM shows none.
            let noEmail = try await scim(.post, "/Users", ["userName": "noemail"])
            #expect(try noEmail.status == .created && noEmail.json["emails"] == nil)
            #expect(try (noEmail.json["email"] as? String)?.hasSuffix("@scim.invalid") == true)
            let two = [["value": "a@example.com", "primary": true], ["value": "b@example.com", "primary": true]]
            #expect(try await scim.create("w@example.com", extra: ["emails": two]).refusal == "400 invalidValue")
            // Ids that are no UUID, or no user's, are 404.
            let notUUID = try await scim(.get, "/Users/not-a-uuid")
            #expect(notUUID.status == .notFound && notUUID.isSCIMError)
            #expect(try await scim(.get, "/Users/\(UUID().uuidString)").status == .notFound)
            #expect(try await scim(.patch, "/Users/\(UUID().uuidString)", ["Operations": [["op": "replace", "path": "active", "value": false]]]).status == .notFound)
            // PATCH refusals.
            let created = try await scim.create("v@example.com")
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "id", "value": "x"]]]).refusal == "400 mutability")
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "roles", "value": [["value": "owner"]]]]]).refusal == "400 mutability")
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "remove"]]]).refusal == "400 noTarget")
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "nosuch", "value": 1]]]).refusal == "400 invalidPath")
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "emails[", "value": 1]]]).refusal == "400 invalidPath")
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "move", "path": "title"]]]).refusal == "400 invalidSyntax")
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "active", "value": "maybe"]]]).refusal == "400 invalidValue")
            #expect(try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "remove", "path": #"emails[type eq "home"].value"#], ["op": "replace", "path": "title", "value": 5]]]).refusal == "400 invalidValue")
            // Nothing of a refused PATCH was stored.
            let unchanged = try await scim(.get, "/Users/\(id)")
            #expect(unchanged.status == .ok)
            #expect(try unchanged.json["title"] == nil)
            // The router's own refusals are SCIM errors under the base path too.
            let random = try await scim(.get, "/NoSuchEndpoint")
            #expect(random.status == .notFound && random.isSCIMError)
            let readOnly = try await scim(.post, "/ServiceProviderConfig", [:])
            #expect(readOnly.status == .methodNotAllowed && readOnly.isSCIMError)
        }
    }

    @Test func etagsGuardChangesAndDeleteDeprovisionsUntilTheIdPCreatesAgain() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, store, _ in
            let owner = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let created = try await scim.create("carol@example.com")
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            let tag = try #require(created.headers[.eTag])
            #expect(tag.hasPrefix("W/\""))
            let unchanged = try await scim(.get, "/Users/\(id)", headers: [.ifNoneMatch: tag])
            #expect(unchanged.status == .notModified)
            let stale = try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "title", "value": "A"]]], headers: [.ifMatch: "W/\"1\""])
            #expect(stale.status == .preconditionFailed && stale.isSCIMError)
            let fresh = try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "replace", "path": "title", "value": "A"]]], headers: [.ifMatch: tag])
            #expect(fresh.status == .ok && fresh.headers[.eTag] != tag)
            #expect(try await scim(.get, "/Users/\(id)", headers: [.ifNoneMatch: tag]).status == .ok)
            // The seed's PATCH: a plain user body with active.
            let plain = try await scim(.patch, "/Users/\(id)", ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "carol@example.com", "active": false])
            #expect(try plain.status == .ok && plain.json["active"] as? Bool == false && plain.json["title"] as? String == "A")
            // DELETE: 204, suspended, hidden; never deleted.
            #expect(try await scim(.delete, "/Users/\(id)", headers: [.ifMatch: "W/\"1\""]).status == .preconditionFailed)
            let deleted = try await scim(.delete, "/Users/\(id)")
            #expect(deleted.status == .noContent)
            #expect(try await scim(.get, "/Users/\(id)").status == .notFound)
            #expect(try await scim(.delete, "/Users/\(id)").status == .notFound)
            let hidden = try await scim(.get, "/Users?" + filterQuery(#"userName eq "carol@example.com""#))
            #expect(hidden.status == .ok)
            #expect(try hidden.json["totalResults"] as? Int == 0)
            let product = try #require(try await store.user(id: UUID(uuidString: id)!))
            #expect(product.status == .suspended)
            #expect(try await client.request(.get, "/api/v2/users/\(id)", token: owner.token).status == .ok)
            // Created again by the IdP: the same user, relinked and reactivated.
            let back = try await scim.create("carol@example.com")
            #expect(try back.status == .ok && back.json["id"] as? String == id && back.json["active"] as? Bool == true)
            #expect(try await scim(.get, "/Users/\(id)").status == .ok)
        }
    }

    @Test func everyBoundIsRefusedWithASCIMErrorAndNothingStored() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let long = try await scim.create("long@example.com", extra: ["title": String(repeating: "t", count: 2049)])
            #expect(try long.status == .badRequest && long.scimType == "invalidValue")
            let many = (0...100).map { ["value": "p\($0)@example.com"] }
            #expect(try await scim.create("many@example.com", extra: ["emails": many]).refusal == "400 invalidValue")
            let stored = try await scim(.get, "/Users?" + filterQuery(#"userName sw "long" or userName sw "many""#))
            #expect(stored.status == .ok)
            #expect(try stored.json["totalResults"] as? Int == 0)
            let created = try await scim.create("ok@example.com")
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            let operations = Array(repeating: ["op": "replace", "path": "title", "value": "x"], count: 1001)
            let tooMany = try await scim(.patch, "/Users/\(id)", ["Operations": operations])
            #expect(try tooMany.status == .badRequest && tooMany.scimType == "tooMany")
            let names = (0...100).map { "a\($0)" }.joined(separator: ",")
            #expect(try await scim(.get, "/Users?attributes=\(names)").refusal == "400 tooMany")
            #expect(try await scim(.get, "/Users?count=5000").status == .ok)
            let huge = try await client.request(.post, "/scim/v2/Users", rawBody: "\"" + String(repeating: "x", count: 1 << 20) + "\"", headers: [.authorization: "Bearer \(SCIMClient.key)"])
            #expect(huge.status == .contentTooLarge && huge.isSCIMError)
            // Groups: the name's length and the member count.
            #expect(try await scim(.post, "/Groups", ["displayName": String(repeating: "g", count: 256)]).refusal == "400 invalidValue")
            let members = (0...10_000).map { _ in ["value": UUID().uuidString] }
            #expect(try await scim(.post, "/Groups", ["displayName": "Big", "members": members]).refusal == "400 tooMany")
            let groups = try await scim(.get, "/Groups")
            #expect(groups.status == .ok)
            #expect(try groups.json["totalResults"] as? Int == 0)
        }
    }
}

import Foundation
import HTTPTypes
import Store
import Testing
@testable import API

/// An owner of a deployment licensed for every feature (template_rbac included).
func licensedOwner(_ client: TestClient) async throws -> (token: String, userID: UUID, organizationID: UUID) {
    let owner = try await client.setUpOwner()
    let added = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT()], token: owner.token)
    #expect(added.status == .created)
    return owner
}

/// The groups routes: Coder's rules and messages, the seed's shapes, Everyone's rules, and the
/// v0.17 bugs fixed (removal from one group only; the organization's name in the message).
@Suite struct GroupRouteTests {
    @Test func anOwnerCreatesListsPatchesAndDeletesAGroup() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            let created = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs", "quota_allowance": 5], token: owner.token)
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            #expect(try created.json["members"] as? [Any] != nil)
            #expect(try created.json["quota_allowance"] as? Int == 5)
            #expect(try created.json["organization_id"] as? String == org)

            let patched = try await client.request(.patch, "/api/v2/groups/\(id)", json: ["add_users": [alice.id.uuidString], "display_name": "Developers"], token: owner.token)
            #expect(patched.status == .ok)
            let members = try #require(try patched.json["members"] as? [[String: Any]])
            #expect(members.map { $0["username"] as? String } == ["alice"])
            // The seed's full user objects.
            for field in ["avatar_url", "created_at", "email", "id", "last_seen_at", "organization_ids", "roles", "status", "username"] {
                #expect(members[0][field] != nil, "member lacks \(field)")
            }
            #expect(try patched.json["display_name"] as? String == "Developers")

            let listed = try await client.request(.get, "/api/v2/organizations/\(org)/groups", token: owner.token)
            #expect(listed.status == .ok)
            #expect(try listed.jsonArray.map { $0["name"] as? String } == ["Everyone", "devs"])
            // Everyone lists every member of the organization.
            #expect(try (listed.jsonArray[0]["members"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["alice", "owner"])

            let byName = try await client.request(.get, "/api/v2/organizations/\(org)/groups/devs", token: owner.token)
            #expect(byName.status == .ok)
            #expect(try byName.json["id"] as? String == id)
            // `{group}` is an id or, the seed's "Group name", a name in the default organization.
            let byGroupName = try await client.request(.get, "/api/v2/groups/devs", token: owner.token)
            #expect(byGroupName.status == .ok)
            #expect(try byGroupName.json["id"] as? String == id)
            let ofAlice = try await client.request(.get, "/api/v2/groups?has_member=alice", token: owner.token)
            #expect(ofAlice.status == .ok)
            #expect(try ofAlice.jsonArray.map { $0["name"] as? String } == ["Everyone", "devs"])

            let deleted = try await client.request(.delete, "/api/v2/groups/\(id)", token: owner.token)
            #expect(deleted.status == .ok)
            #expect(try deleted.json["name"] as? String == "devs")
            #expect(try await client.request(.get, "/api/v2/groups/\(id)", token: owner.token).status == .notFound)
        }
    }

    @Test func removingAUserRemovesThemFromThatGroupOnly() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            var ids: [String] = []
            for name in ["one", "two"] {
                let group = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": name], token: owner.token)
                #expect(group.status == .created)
                let id = try #require(try group.json["id"] as? String)
                #expect(try await client.request(.patch, "/api/v2/groups/\(id)", json: ["add_users": [alice.id.uuidString]], token: owner.token).status == .ok)
                ids.append(id)
            }
            #expect(try await client.request(.patch, "/api/v2/groups/\(ids[0])", json: ["remove_users": [alice.id.uuidString]], token: owner.token).status == .ok)
            let two = try await client.request(.get, "/api/v2/groups/\(ids[1])", token: owner.token)
            #expect(two.status == .ok)
            #expect(try (two.json["members"] as? [[String: Any]])?.map { $0["username"] as? String } == ["alice"])
        }
    }

    @Test func patchRefusesWhatCoderRefuses() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            let outsider = try await store.createUser(NewUser(email: "out@example.com", username: "outsider", hashedPassword: "", organizationID: nil))
            let group = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: owner.token)
            #expect(group.status == .created)
            let id = try #require(try group.json["id"] as? String)
            _ = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "ops"], token: owner.token)
            func patch(_ body: [String: Any], _ group: String = id) async throws -> TestResponse {
                try await client.request(.patch, "/api/v2/groups/\(group)", json: body, token: owner.token)
            }
            let notUUID = try await patch(["add_users": ["bob"]])
            #expect(notUUID.status == .badRequest)
            #expect(try notUUID.message == "ID \"bob\" must be a valid user UUID.")
            let notMember = try await patch(["add_users": [outsider.id.uuidString]])
            #expect(notMember.status == .badRequest)
            #expect(try notMember.message == "User must be a member of organization \"coder\"")
            let twice = try await patch(["add_users": [alice.id.uuidString, alice.id.uuidString]])
            #expect(twice.status == .badRequest)
            #expect(try twice.message == "Cannot add the same user to a group twice!")
            #expect(try await patch(["add_users": [alice.id.uuidString]]).status == .ok)
            let again = try await patch(["add_users": [alice.id.uuidString]])
            #expect(again.status == .badRequest)
            #expect(try again.message == "Cannot add the same user to a group twice!")
            let removeAbsent = try await patch(["remove_users": [owner.userID.uuidString]])
            #expect(removeAbsent.status == .badRequest)
            #expect(try removeAbsent.message == "Failed to add or remove non-existent group member")
            let taken = try await patch(["name": "ops"])
            #expect(taken.status == .conflict)
            // Coder's PATCH words the conflict differently from its POST.
            #expect(try taken.message == "A group with name \"ops\" already exists.")
            let reserved = try await patch(["name": "Everyone"])
            #expect(reserved.status == .badRequest)
            #expect(try reserved.message == "\"Everyone\" is a reserved group name!")
            // A failed patch changes nothing: the group still has alice alone and its name.
            let now = try await client.request(.get, "/api/v2/groups/\(id)", token: owner.token)
            #expect(now.status == .ok)
            #expect(try now.json["name"] as? String == "devs")
            #expect(try (now.json["members"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func everyoneKeepsItsNameAndMembersButTakesAnAllowance() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let everyone = owner.organizationID.uuidString.lowercased()
            let rename = try await client.request(.patch, "/api/v2/groups/\(everyone)", json: ["name": "All"], token: owner.token)
            #expect(rename.status == .badRequest)
            #expect(try rename.message == "Cannot rename the \"Everyone\" group!")
            let display = try await client.request(.patch, "/api/v2/groups/\(everyone)", json: ["display_name": "All"], token: owner.token)
            #expect(display.status == .badRequest)
            #expect(try display.message == "Cannot update the Display Name for the \"Everyone\" group!")
            let members = try await client.request(.patch, "/api/v2/groups/\(everyone)", json: ["add_users": [owner.userID.uuidString]], token: owner.token)
            #expect(members.status == .forbidden)
            #expect(try members.message == "Cannot add or remove users from the \"Everyone\" group!")
            let deleted = try await client.request(.delete, "/api/v2/groups/\(everyone)", token: owner.token)
            #expect(deleted.status == .badRequest)
            #expect(try deleted.message == "\"Everyone\" is a reserved group and cannot be deleted!")
            let allowance = try await client.request(.patch, "/api/v2/groups/\(everyone)", json: ["quota_allowance": 10, "avatar_url": "https://example.com/a.png"], token: owner.token)
            #expect(allowance.status == .ok)
            #expect(try allowance.json["quota_allowance"] as? Int == 10)
            let reserved = try await client.request(.post, "/api/v2/organizations/\(everyone)/groups", json: ["name": "Everyone"], token: owner.token)
            #expect(reserved.status == .badRequest)
            #expect(try reserved.validationFields == ["name"])
        }
    }

    @Test func createValidatesAndConflicts() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            #expect(try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: owner.token).status == .created)
            let again = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: owner.token)
            #expect(again.status == .conflict)
            #expect(try again.message == "A group named \"devs\" already exists.")
            for bad in ["", "a b", "-x", "new", String(repeating: "a", count: 256)] {
                let refused = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": bad], token: owner.token)
                #expect(refused.status == .badRequest, "\(bad)")
            }
            let nameless = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["quota_allowance": 1], token: owner.token)
            #expect(nameless.status == .badRequest)
            #expect(try nameless.validationFields == ["name"])
        }
    }

    @Test func membersReadTheirOrganizationsGroupsAndChangeNothing() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
            let group = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: owner.token)
            #expect(group.status == .created)
            let id = try #require(try group.json["id"] as? String)
            let listed = try await client.request(.get, "/api/v2/organizations/\(org)/groups", token: member.token)
            #expect(listed.status == .ok)
            #expect(try listed.jsonArray.count == 2)
            #expect(try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "mine"], token: member.token).status == .forbidden)
            #expect(try await client.request(.patch, "/api/v2/groups/\(id)", json: ["name": "x"], token: member.token).status == .forbidden)
            #expect(try await client.request(.delete, "/api/v2/groups/\(id)", token: member.token).status == .forbidden)
            #expect(try await client.request(.get, "/api/v2/groups/\(id)").status == .unauthorized)
            // Another organization's groups do not exist for them.
            #expect(try await client.request(.get, "/api/v2/organizations/\(UUID().uuidString)/groups", token: member.token).status == .notFound)
        }
    }

    @Test func userAdminsManageGroupsTemplateAdminsReadThem() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            func login(_ name: String, _ role: String) async throws -> String {
                _ = try await store.createUser(NewUser(
                    email: "\(name)@example.com", username: name, hashedPassword: try Passwords.hash("An0ther-Passw0rd!", parameters: .testCost),
                    siteRoles: [role], organizationID: owner.organizationID
                ))
                return try await client.login("\(name)@example.com", "An0ther-Passw0rd!")
            }
            let userAdmin = try await login("useradmin", "user-admin")
            let templateAdmin = try await login("templateadmin", "template-admin")
            let created = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: userAdmin)
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            #expect(try await client.request(.patch, "/api/v2/groups/\(id)", json: ["quota_allowance": 3], token: userAdmin).status == .ok)
            #expect(try await client.request(.get, "/api/v2/groups/\(id)", token: templateAdmin).status == .ok)
            #expect(try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "mine"], token: templateAdmin).status == .forbidden)
            #expect(try await client.request(.delete, "/api/v2/groups/\(id)", token: templateAdmin).status == .forbidden)
            #expect(try await client.request(.delete, "/api/v2/groups/\(id)", token: userAdmin).status == .ok)
        }
    }

    @Test func withoutTemplateRBACEveryGroupRouteIsRefused() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await client.setUpOwner()  // no license
            let org = owner.organizationID.uuidString.lowercased()
            for (method, path) in [("GET", "/api/v2/organizations/\(org)/groups"), ("POST", "/api/v2/organizations/\(org)/groups"), ("GET", "/api/v2/groups"), ("GET", "/api/v2/groups/\(org)"), ("PATCH", "/api/v2/groups/\(org)"), ("DELETE", "/api/v2/groups/\(org)"), ("GET", "/api/v2/organizations/\(org)/groups/Everyone")] {
                let response = try await client.request(.init(method)!, path, json: ["name": "x"], token: owner.token)
                #expect(response.status == .forbidden, "\(method) \(path)")
                #expect(try response.message == "Template RBAC is an Enterprise feature. Contact sales!")
            }
        }
    }

    @Test func groupChangesAreAudited() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let group = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: owner.token)
            #expect(group.status == .created)
            let id = try #require(try group.json["id"] as? String)
            _ = try await client.request(.patch, "/api/v2/groups/\(id)", json: ["name": "developers"], token: owner.token)
            _ = try await client.request(.patch, "/api/v2/groups/\(id)", json: ["name": "Everyone"], token: owner.token)  // refused: no row
            _ = try await client.request(.delete, "/api/v2/groups/\(id)", token: owner.token)
            let audit = try await client.request(.get, "/api/v2/audit?q=resource_type:group", token: owner.token)
            #expect(audit.status == .ok)
            let rows = try audit.json["audit_logs"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["action"] as? String } == ["delete", "write", "create"])
            let rename = try #require((rows[1]["diff"] as? [String: [String: Any]])?["name"])
            #expect(rename["old"] as? String == "devs")
            #expect(rename["new"] as? String == "developers")
        }
    }
    /// Coder's SDK sends `"name": ""` on every PATCH that does not rename (no omitempty).
    @Test func anEmptyNameInAPatchIsNoRename() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            let group = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: owner.token)
            #expect(group.status == .created)
            let id = try #require(try group.json["id"] as? String)
            let added = try await client.request(.patch, "/api/v2/groups/\(id)", json: ["name": "", "display_name": "", "add_users": [alice.id.uuidString], "remove_users": [String]()], token: owner.token)
            #expect(added.status == .ok)
            #expect(try added.json["name"] as? String == "devs")
            #expect(try (added.json["members"] as? [[String: Any]])?.map { $0["username"] as? String } == ["alice"])
            let everyone = try await client.request(.patch, "/api/v2/groups/\(org)", json: ["name": "", "display_name": "", "quota_allowance": 4, "add_users": [String](), "remove_users": [String]()], token: owner.token)
            #expect(everyone.status == .ok)
            #expect(try everyone.json["name"] as? String == "Everyone")
            #expect(try everyone.json["quota_allowance"] as? Int == 4)
        }
    }

    @Test func createAnswersTheSeedsShapeWithTheAdditions() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let created = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: [
                "name": "devs", "display_name": "Developers", "avatar_url": "https://example.com/d.png", "quota_allowance": 7,
            ], token: owner.token)
            #expect(created.status == .created)
            #expect(try created.json["name"] as? String == "devs")
            #expect(try created.json["display_name"] as? String == "Developers")
            #expect(try created.json["avatar_url"] as? String == "https://example.com/d.png")
            #expect(try created.json["quota_allowance"] as? Int == 7)
            #expect(try created.json["organization_id"] as? String == org)
            #expect(try created.json["source"] as? String == "user")
            #expect(try created.json["total_member_count"] as? Int == 0)
            #expect(try (created.json["members"] as? [Any])?.isEmpty == true)
            let everyone = try await client.request(.get, "/api/v2/groups/\(org)", token: owner.token)
            #expect(everyone.status == .ok)
            #expect(try everyone.json["total_member_count"] as? Int == 1)
            let deleted = try await client.request(.delete, "/api/v2/groups/\(try #require(try created.json["id"] as? String))", token: owner.token)
            #expect(deleted.status == .ok)
            #expect(try deleted.json["display_name"] as? String == "Developers")
            #expect(try deleted.json["quota_allowance"] as? Int == 7)
            #expect(try deleted.json["organization_id"] as? String == org)
        }
    }

    @Test func groupListsFilterByOrganizationAndMember() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            let org = owner.organizationID.uuidString.lowercased()
            let other = UUID()
            try await store.pool.query("INSERT INTO organizations (id, name) VALUES ($1, 'other')", [other])
            try await store.pool.query("INSERT INTO groups (id, name, organization_id) VALUES ($1, 'Everyone', $1)", [other])
            let alice = try await client.createMember("alice", organizationID: owner.organizationID, token: owner.token)
            let devs = try await client.request(.post, "/api/v2/organizations/\(org)/groups", json: ["name": "devs"], token: owner.token)
            #expect(devs.status == .created)
            _ = try await client.request(.patch, "/api/v2/groups/\(try #require(try devs.json["id"] as? String))", json: ["add_users": [alice.id.uuidString]], token: owner.token)
            let ops = try await client.request(.post, "/api/v2/organizations/\(other.uuidString.lowercased())/groups", json: ["name": "ops"], token: owner.token)
            #expect(ops.status == .created)
            func names(_ query: String, _ token: String) async throws -> [String?] {
                let response = try await client.request(.get, "/api/v2/groups\(query)", token: token)
                #expect(response.status == .ok, "\(query)")
                return try response.jsonArray.map { $0["name"] as? String }
            }
            // An owner reads every organization's groups; each filter narrows them.
            #expect(Set(try await names("", owner.token)) == ["Everyone", "devs", "ops"])
            #expect(try await names("?organization=\(org)", owner.token) == ["Everyone", "devs"])
            #expect(try await names("?organization=other", owner.token) == ["Everyone", "ops"])
            #expect(try await names("?has_member=\(alice.id.uuidString.lowercased())", owner.token) == ["Everyone", "devs"])
            #expect(try await names("?organization=other&has_member=alice", owner.token) == [])
            // A member reads their own organization's groups only, with or without the filter.
            #expect(try await names("", alice.token) == ["Everyone", "devs"])
            let hidden = try await client.request(.get, "/api/v2/groups?organization=other", token: alice.token)
            #expect(hidden.status == .badRequest)
            #expect(try hidden.message == "Query parameters have invalid values.")
            #expect(try hidden.validationFields == ["organization"])
            let unknown = try await client.request(.get, "/api/v2/groups?organization=nowhere&has_member=nobody", token: owner.token)
            #expect(unknown.status == .badRequest)
            #expect(try unknown.validationFields == ["organization", "has_member"])
            // Another organization's real group is not there for a member.
            let opsID = try #require(try ops.json["id"] as? String)
            #expect(try await client.request(.get, "/api/v2/groups/\(opsID)", token: alice.token).status == .notFound)
            #expect(try await client.request(.patch, "/api/v2/groups/\(opsID)", json: ["quota_allowance": 1], token: alice.token).status == .notFound)
            #expect(try await client.request(.delete, "/api/v2/groups/\(opsID)", token: alice.token).status == .notFound)
        }
    }
}

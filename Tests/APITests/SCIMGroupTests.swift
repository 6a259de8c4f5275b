import Foundation
import HTTPTypes
import Licensing
import Store
import Testing

/// SCIM Groups: Okta's group push and Entra's matching and filtered member removal, mapped onto
/// the product's groups of the default organization, Everyone never exposed.
@Suite struct SCIMGroupTests {
    @Test func oktasGroupPushAndEntrasFilteredRemoveChangeTheProductsGroup() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            let owner = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            var ids: [String] = []
            for name in ["ann", "ben", "cat"] {
                let user = try await scim.create("\(name)@example.com")
                #expect(user.status == .created)
                ids.append(try #require(try user.json["id"] as? String))
            }
            // Okta's listing: Everyone is not a SCIM group.
            let empty = try await scim(.get, "/Groups?count=100&startIndex=1")
            #expect(try empty.status == .ok && empty.json["totalResults"] as? Int == 0)
            let created = try await scim(.post, "/Groups", [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "externalId": "grp-1",
                "members": [["value": ids[0]], ["value": ids[1]]],
            ])
            #expect(created.status == .created)
            let groupID = try #require(try created.json["id"] as? String)
            #expect(created.headers[.location] == "http://localhost/scim/v2/Groups/\(groupID)")
            #expect(try Set((created.json["members"] as? [[String: Any]])?.compactMap { $0["$ref"] as? String } ?? []) == Set(ids.prefix(2).map { "http://localhost/scim/v2/Users/\($0)" }))
            // A search at the root spans Users and Groups; a filter on what only Groups have finds the group.
            let root = try await scim(.post, "/.search", ["filter": #"displayName eq "Engineering""#])
            #expect(root.status == .ok)
            #expect(try root.json["totalResults"] as? Int == 1 && root.resources.first?["id"] as? String == groupID)
            let ann = try await scim(.post, "/.search", ["filter": #"userName sw "ann""#])
            #expect(ann.status == .ok)
            #expect(try ann.json["totalResults"] as? Int == 1)
            #expect(try await scim(.post, "/.search", ["filter": #"nosuch eq "x""#]).refusal == "400 invalidFilter")
            // Entra's match, members left out.
            let matched = try await scim(.get, "/Groups?excludedAttributes=members&" + filterQuery(#"displayName eq "engineering""#))
            #expect(matched.status == .ok)
            #expect(try matched.resources.count == 1 && matched.resources.first?["members"] == nil)
            let byExternalID = try await scim(.get, "/Groups?" + filterQuery(#"externalId eq "grp-1""#))
            #expect(byExternalID.status == .ok)
            #expect(try byExternalID.resources.count == 1)
            let byMember = try await scim(.get, "/Groups?" + filterQuery(#"members.value eq "\#(ids[1])""#))
            #expect(byMember.status == .ok)
            #expect(try byMember.resources.count == 1)
            // Add one, then Entra's filtered remove of one member only.
            let added = try await scim(.patch, "/Groups/\(groupID)", ["Operations": [["op": "Add", "path": "members", "value": [["value": ids[2]]]]]])
            #expect(added.status == .ok)
            #expect(try (added.json["members"] as? [[String: Any]])?.count == 3)
            let removed = try await scim(.patch, "/Groups/\(groupID)", ["Operations": [["op": "Remove", "path": "members[value eq \"\(ids[0])\"]"]]])
            #expect(removed.status == .ok)
            #expect(try Set((removed.json["members"] as? [[String: Any]])?.compactMap { $0["value"] as? String } ?? []) == [ids[1], ids[2]])
            // Okta's remove with the members as the value.
            let okta = try await scim(.patch, "/Groups/\(groupID)", ["Operations": [["op": "remove", "path": "members", "value": [["value": ids[1]]]]]])
            #expect(okta.status == .ok)
            #expect(try (okta.json["members"] as? [[String: Any]])?.compactMap { $0["value"] as? String } == [ids[2]])
            // The product's groups show it at once.
            let product = try await client.request(.get, "/api/v2/groups/\(groupID)", token: owner.token)
            #expect(product.status == .ok)
            #expect(try (product.json["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[2]])
            // Rename with PUT; unknown members and duplicate names are refused.
            let put = try await scim(.put, "/Groups/\(groupID)", ["displayName": "Platform", "members": [["value": ids[0]]]])
            #expect(try put.status == .ok && put.json["displayName"] as? String == "Platform")
            let unknown = try await scim(.patch, "/Groups/\(groupID)", ["Operations": [["op": "add", "path": "members", "value": [["value": UUID().uuidString]]]]])
            #expect(try unknown.status == .badRequest && unknown.scimType == "invalidValue")
            #expect(try await scim(.post, "/Groups", ["displayName": "Platform"]).refusal == "409 uniqueness")
            // Everyone is a reserved name under the one group-name rule (`GroupNames`), refused before any write.
            #expect(try await scim(.post, "/Groups", ["displayName": "Everyone"]).refusal == "400 invalidValue")
            // Everyone cannot be reached by id either.
            #expect(try await scim(.get, "/Groups/\(owner.organizationID.uuidString)").status == .notFound)
            #expect(try await scim(.delete, "/Groups/\(owner.organizationID.uuidString)").status == .notFound)
            // DELETE removes the product's group.
            #expect(try await scim(.delete, "/Groups/\(groupID)").status == .noContent)
            #expect(try await client.request(.get, "/api/v2/groups/\(groupID)", token: owner.token).status == .notFound)
            let audit = try await client.request(.get, "/api/v2/audit?q=resource_type%3Agroup", token: owner.token)
            #expect(audit.status == .ok)
            let rows = try (audit.json["audit_logs"] as? [[String: Any]] ?? []).filter { ($0["additional_fields"] as? [String: Any])?["automatic_subsystem"] as? String == "scim" }
            #expect(rows.count == 6)
        }
    }

    @Test func groupsNeedTemplateRBACToo() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            let owner = try await client.setUpOwner()
            let license = try licenseJWT(allFeatures: false, features: ["scim": 1])
            #expect(try await client.request(.post, "/api/v2/licenses", json: ["license": license], token: owner.token).status == .created)
            let scim = SCIMClient(client: client)
            #expect(try await scim(.get, "/Users").status == .ok)
            let groups = try await scim(.get, "/Groups")
            #expect(groups.status == .forbidden && groups.isSCIMError)
        }
    }
}

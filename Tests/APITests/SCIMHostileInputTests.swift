import Foundation
import HTTPTypes
import Store
import Testing

/// What an identity provider (or anyone holding the SCIM key) may send that is hostile: indexes
/// at the edge of the integer range, NUL characters, suspensions by every path.
@Suite struct SCIMHostileInputTests {
    @Test func aRootSearchFromAnyStartIndexIsAPageNeverATrap() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            let owner = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            var userIDs: [String] = []
            for name in ["ann", "ben"] {
                let user = try await scim.create("\(name)@example.com")
                #expect(user.status == .created)
                userIDs.append(try #require(try user.json["id"] as? String))
            }
            let group = try await scim(.post, "/Groups", ["displayName": "Engineering"])
            #expect(group.status == .created)
            let groupID = try #require(try group.json["id"] as? String)
            // The owner, two SCIM users and one group.
            for start in [Int.max, Int.max - 1, Int(Int32.max) + 5, 5] {
                let far = try await scim(.post, "/.search", ["startIndex": start, "count": 100])
                #expect(far.status == .ok)
                #expect(try far.json["totalResults"] as? Int == 4 && far.resources.isEmpty && far.json["startIndex"] as? Int == start)
            }
            // Beyond Int64 too: a number or a string of digits is clamped, not an error.
            for far in [1e30, "99999999999999999999"] as [Any] {
                let beyond = try await scim(.post, "/.search", ["startIndex": far, "count": 10])
                #expect(try beyond.status == .ok && beyond.json["totalResults"] as? Int == 4 && beyond.resources.isEmpty)
            }
            let hugeQuery = try await scim(.get, "/Users?startIndex=99999999999999999999&count=99999999999999999999")
            #expect(try hugeQuery.status == .ok && hugeQuery.resources.isEmpty)
            let huge = try await scim(.post, "/.search", ["startIndex": 3, "count": Int.max])
            #expect(try huge.status == .ok && huge.resources.count == 2)
            // A window across the users' end and the groups' start holds the last user and the group.
            let across = try await scim(.post, "/.search", ["startIndex": 3, "count": 2])
            #expect(try across.status == .ok && across.json["totalResults"] as? Int == 4)
            #expect(try across.resources.compactMap { $0["id"] as? String } == [userIDs[1], groupID])
            let groupsOnly = try await scim(.post, "/.search", ["startIndex": 4, "count": 1])
            #expect(groupsOnly.status == .ok)
            #expect(try groupsOnly.resources.compactMap { $0["id"] as? String } == [groupID])
            // The same through the query string of each type, and the replica still answers.
            let users = try await scim(.get, "/Users?startIndex=\(Int.max)&count=\(Int.max)")
            #expect(try users.status == .ok && users.json["totalResults"] as? Int == 3 && users.resources.isEmpty)
            #expect(try await client.request(.get, "/api/v2/users/me", token: owner.token).status == .ok)
        }
    }
}

extension SCIMHostileInputTests {
    /// Finding: a POST that linked an existing user with `active: false` suspended them, but their
    /// cached session kept working for up to a minute (PATCH and DELETE ended it at once).
    @Test func aCreateThatLinksAndSuspendsEndsTheSessionsAtOnce() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key, pubsub: true) { client, store, _ in
            let owner = try await licensedOwner(client)
            let bob = try await client.createMember("bob", organizationID: owner.organizationID, token: owner.token)
            // Cached by the authenticator.
            #expect(try await client.request(.get, "/api/v2/users/me", token: bob.token).status == .ok)
            let linked = try await SCIMClient(client: client).create("bob@example.com", active: false)
            #expect(try linked.status == .ok && linked.json["id"] as? String == bob.id.uuidString.lowercased() && linked.json["active"] as? Bool == false)
            #expect(try await store.user(id: bob.id)?.status == .suspended)
            #expect(try await client.request(.get, "/api/v2/users/me", token: bob.token).status == .unauthorized)
        }
    }
}

extension SCIMHostileInputTests {
    /// Finding: SCIM group names skipped the REST rule (a Cyrillic `Еveryone` was accepted next
    /// to the real one), and a `userName` written in two normal forms made two users.
    @Test func groupNamesFollowOneRuleAndNamesAreComparedInNFC() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, store, _ in
            let owner = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            // Cyrillic Е, Greek ο, a zero in place of o, lowercase, an invisible joiner: each reads as Everyone.
            // Armenian օ, Cherokee Ꭼ, a blank Braille pattern and a Hangul filler after it, Cyrillic у and о
            // (no table needed: half the letters its own, the rest of other scripts).
            let lookAlikes = [
                "\u{0415}veryone", "Every\u{03BF}ne", "Every0ne", "everyone", "Every\u{200D}one", "Everyone",
                "Every\u{0585}ne", "\u{13AC}veryone", "Everyone\u{2800}", "Everyone\u{115F}", "Ever\u{0443}\u{043E}ne", "Every one",
            ]
            for name in lookAlikes {
                let refused = try await scim(.post, "/Groups", ["displayName": name])
                #expect(try refused.status == .badRequest && refused.scimType == "invalidValue", "\(name)")
                let rest = try await client.request(.post, "/api/v2/organizations/\(owner.organizationID.uuidString)/groups", json: ["name": name], token: owner.token)
                #expect(try rest.status == .badRequest && rest.validationFields == ["name"], "\(name)")
            }
            // The same rule, where an IdP names groups as people do.
            #expect(try await scim(.post, "/Groups", ["displayName": "Platform Team"]).status == .created)
            // Words that merely share letters are not look-alikes.
            #expect(try await scim(.post, "/Groups", ["displayName": "Everything"]).status == .created)
            #expect(try await scim(.post, "/Groups", ["displayName": "Everyones"]).status == .created)
            // A display name is shown where the name is.
            let display = try await client.request(.post, "/api/v2/organizations/\(owner.organizationID.uuidString)/groups", json: ["name": "ops", "display_name": "Everyone"], token: owner.token)
            #expect(try display.status == .badRequest && display.validationFields == ["display_name"])
            // The store refuses whoever calls it (the identity-provider sync to come, say).
            await #expect(throws: StoreError.invalid(field: "name", detail: "\"\u{0415}veryone\" reads as the reserved group name \"Everyone\"")) {
                _ = try await store.createGroup(NewGroup(name: "\u{0415}veryone", organizationID: owner.organizationID))
            }
            // One name in two normal forms is one group: the second is a uniqueness conflict, and
            // a filter in either form finds it.
            let composed = "Ingenier\u{00ED}a", decomposed = "Ingenieri\u{0301}a"
            #expect(try await scim(.post, "/Groups", ["displayName": decomposed]).status == .created)
            #expect(try await scim(.post, "/Groups", ["displayName": composed]).refusal == "409 uniqueness")
            for form in [composed, decomposed] {
                let found = try await scim(.get, "/Groups?" + filterQuery("displayName eq \"\(form)\""))
                #expect(found.status == .ok)
                #expect(try found.resources.count == 1)
            }
            let groups = try await client.request(.get, "/api/v2/groups?organization=\(owner.organizationID.uuidString)", token: owner.token)
            #expect(groups.status == .ok)
            // Stored composed: compared by bytes (Swift's `==` calls the two forms equal).
            #expect(try groups.jsonArray.compactMap { $0["name"] as? String }.filter { $0.hasPrefix("Ingenier") }.map { Array($0.utf8) } == [Array(composed.utf8)])
            // A userName in two normal forms is one user.
            let first = try await scim.create("jos\u{00E9}@example.com")
            #expect(first.status == .created)
            let second = try await scim.create("jose\u{0301}@example.com")
            #expect(try second.status == .conflict && second.scimType == "uniqueness")
            let jose = try await scim(.get, "/Users?" + filterQuery("userName eq \"jose\u{0301}@example.com\""))
            #expect(jose.status == .ok)
            #expect(try jose.resources.count == 1)
        }
    }
}

extension SCIMHostileInputTests {
    /// Ten PATCHes of a thousand operations each on one user at once: each is computed outside
    /// any transaction, so none holds a pooled connection while it works (the app's pool has
    /// four); each ends 200, or 412 when it lost the race twice — never a 5xx — and the
    /// deployment keeps answering everyone else meanwhile.
    @Test func concurrentLargePatchesEndIn200Or412AndNobodyElseWaits() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            let owner = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let ann = try await scim.create("ann@example.com")
            #expect(ann.status == .created)
            let id = try #require(try ann.json["id"] as? String)
            let statuses = try await withThrowingTaskGroup(of: [HTTPResponse.Status].self) { group in
                for writer in 0..<10 {
                    group.addTask {
                        let operations = (0..<1000).map { step in ["op": "replace", "path": "title", "value": "writer \(writer) step \(step)"] as [String: Any] }
                        return [try await scim(.patch, "/Users/\(id)", ["Operations": operations]).status]
                    }
                }
                group.addTask {
                    // Meanwhile: health and another user's request.
                    var seen: [HTTPResponse.Status] = []
                    for _ in 0..<5 {
                        seen.append(try await client.request(.get, "/healthz").status)
                        seen.append(try await client.request(.get, "/api/v2/users/me", token: owner.token).status)
                    }
                    return seen
                }
                var all: [HTTPResponse.Status] = []
                for try await statuses in group { all += statuses }
                return all
            }
            #expect(statuses.count == 20)
            #expect(statuses.allSatisfy { $0 == .ok || $0 == .preconditionFailed }, "\(statuses)")
            #expect(statuses.contains(.ok))
            // The user holds one writer's last step, whole.
            let read = try await scim(.get, "/Users/\(id)")
            #expect(read.status == .ok)
            let title = try #require(try read.json["title"] as? String)
            #expect(title.hasSuffix("step 999"))
        }
    }
}

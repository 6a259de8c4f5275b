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
            for name in ["ann", "ben"] { userIDs.append(try #require(try await scim.create("\(name)@example.com").json["id"] as? String)) }
            let group = try await scim(.post, "/Groups", ["displayName": "Engineering"])
            #expect(group.status == .created)
            let groupID = try #require(group.json["id"] as? String)
            // The owner, two SCIM users and one group.
            for start in [Int.max, Int.max - 1, Int(Int32.max) + 5, 5] {
                let far = try await scim(.post, "/.search", ["startIndex": start, "count": 100])
                #expect(far.status == .ok)
                #expect(far.json["totalResults"] as? Int == 4 && far.resources.isEmpty && far.json["startIndex"] as? Int == start)
            }
            let huge = try await scim(.post, "/.search", ["startIndex": 3, "count": Int.max])
            #expect(huge.status == .ok && huge.resources.count == 2)
            // A window across the users' end and the groups' start holds the last user and the group.
            let across = try await scim(.post, "/.search", ["startIndex": 3, "count": 2])
            #expect(across.status == .ok && across.json["totalResults"] as? Int == 4)
            #expect(across.resources.compactMap { $0["id"] as? String } == [userIDs[1], groupID])
            let groupsOnly = try await scim(.post, "/.search", ["startIndex": 4, "count": 1])
            #expect(groupsOnly.resources.compactMap { $0["id"] as? String } == [groupID])
            // The same through the query string of each type, and the replica still answers.
            let users = try await scim(.get, "/Users?startIndex=\(Int.max)&count=\(Int.max)")
            #expect(users.status == .ok && users.json["totalResults"] as? Int == 3 && users.resources.isEmpty)
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
            #expect(linked.status == .ok && linked.json["id"] as? String == bob.id.uuidString.lowercased() && linked.json["active"] as? Bool == false)
            #expect(try await store.user(id: bob.id)?.status == .suspended)
            #expect(try await client.request(.get, "/api/v2/users/me", token: bob.token).status == .unauthorized)
        }
    }
}

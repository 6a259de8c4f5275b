import Foundation
import HTTPTypes
import Testing

/// RFC 7644 §3.7 Bulk: operations in order, each as its own request, `bulkId` references
/// resolved in paths and data (also forward ones), cycles and failed references refused,
/// `failOnErrors`, and the advertised limit.
@Suite struct SCIMBulkTests {
    func user(_ name: String) -> [String: Any] {
        ["userName": "\(name)@example.com", "emails": [["value": "\(name)@example.com", "primary": true]], "active": true]
    }

    @Test func operationsRunInOrderWithBulkIDsResolvedForwardAndBack() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, store, _ in
            let owner = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let response = try await scim(.post, "/Bulk", [
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    // Refers to a user created further down: it waits for it.
                    ["method": "POST", "bulkId": "g1", "path": "/Groups", "data": ["displayName": "Bulk", "members": [["value": "bulkId:u1"]]]],
                    ["method": "POST", "bulkId": "u1", "path": "/Users", "data": user("dora")],
                    ["method": "PATCH", "path": "/Users/bulkId:u1", "data": ["Operations": [["op": "replace", "path": "title", "value": "Pilot"]]]],
                    ["method": "POST", "bulkId": "u2", "path": "/Users", "data": user("dora")],
                    ["method": "DELETE", "path": "/Users/\(UUID().uuidString)"],
                ],
            ])
            #expect(response.status == .ok)
            #expect(try (response.json["schemas"] as? [String]) == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
            let results = try #require(try response.json["Operations"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? String } == ["201", "201", "200", "409", "404"])
            #expect(results[1]["bulkId"] as? String == "u1" && (results[1]["location"] as? String)?.contains("/Users/") == true)
            #expect((results[3]["response"] as? [String: Any])?["scimType"] as? String == "uniqueness")
            let userID = try #require((results[1]["location"] as? String)?.split(separator: "/").last.map(String.init))
            let groupID = try #require((results[0]["location"] as? String)?.split(separator: "/").last.map(String.init))
            let patched = try await scim(.get, "/Users/\(userID)")
            #expect(patched.status == .ok)
            #expect(try patched.json["title"] as? String == "Pilot")
            let group = try await client.request(.get, "/api/v2/groups/\(groupID)", token: owner.token)
            #expect(group.status == .ok)
            #expect(try (group.json["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [userID])
            #expect(try await store.user(username: "dora") != nil)
        }
    }

    @Test func cyclesFailedReferencesFailOnErrorsAndLimits() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let cycle = try await scim(.post, "/Bulk", ["Operations": [
                ["method": "POST", "bulkId": "a", "path": "/Groups", "data": ["displayName": "A", "members": [["value": "bulkId:b"]]]],
                ["method": "POST", "bulkId": "b", "path": "/Groups", "data": ["displayName": "B", "members": [["value": "bulkId:a"]]]],
                ["method": "POST", "bulkId": "c", "path": "/Users", "data": ["userName": 5]],
                ["method": "PATCH", "path": "/Users/bulkId:c", "data": ["Operations": [["op": "replace", "path": "title", "value": "x"]]]],
                ["method": "PATCH", "path": "/Users/bulkId:nope", "data": ["Operations": [["op": "replace", "path": "title", "value": "x"]]]],
            ]])
            #expect(cycle.status == .ok)
            let results = try #require(try cycle.json["Operations"] as? [[String: Any]])
            #expect(Set(results.compactMap { $0["status"] as? String }) == ["409", "400"])
            #expect(results.filter { $0["status"] as? String == "409" }.count == 4)
            let groups = try await scim(.get, "/Groups")
            #expect(groups.status == .ok)
            #expect(try groups.json["totalResults"] as? Int == 0)
            // failOnErrors: 1 stops at the first error; what came before it stays done.
            let stopped = try await scim(.post, "/Bulk", ["failOnErrors": 1, "Operations": [
                ["method": "POST", "bulkId": "x", "path": "/Users", "data": user("ed")],
                ["method": "POST", "bulkId": "y", "path": "/Users", "data": user("ed")],
                ["method": "POST", "bulkId": "z", "path": "/Users", "data": user("flo")],
            ]])
            #expect(stopped.status == .ok)
            #expect(try (stopped.json["Operations"] as? [[String: Any]])?.map { $0["status"] as? String } == ["201", "409"])
            let flo = try await scim(.get, "/Users?" + filterQuery(#"userName eq "flo@example.com""#))
            #expect(flo.status == .ok)
            #expect(try flo.json["totalResults"] as? Int == 0)
            // Malformed requests are refused whole.
            #expect(try await scim(.post, "/Bulk", ["Operations": [["method": "POST", "path": "/Users", "data": user("g")]]]).refusal == "400 invalidSyntax")
            #expect(try await scim(.post, "/Bulk", ["Operations": [["method": "GET", "path": "/Users"]]]).refusal == "400 invalidSyntax")
            #expect(try await scim(.post, "/Bulk", ["failOnErrors": 0, "Operations": []]).refusal == "400 invalidValue")
            let tooMany = try await scim(.post, "/Bulk", ["Operations": Array(repeating: ["method": "DELETE", "path": "/Users/x"], count: 1001)])
            #expect(tooMany.status == .contentTooLarge && tooMany.isSCIMError)
            let config = try await scim(.get, "/ServiceProviderConfig")
            #expect(config.status == .ok)
            #expect(try (config.json["bulk"] as? [String: Any])?["maxOperations"] as? Int == 1000)
        }
    }
}

import Foundation
import Testing

@Suite struct ConventionTests {
    @Test func unknownRoutesGetCodersEnvelope() async throws {
        try await withApp { client, _ in
            let response = try await client.request(.get, "/api/v2/nothing/here")
            #expect(response.status == .notFound)
            #expect(try response.message == "Route not found.")
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        }
    }

    @Test func buildInfoAndHealth() async throws {
        try await withApp { client, _ in
            let info = try await client.request(.get, "/api/v2/buildinfo")
            #expect(info.status == .ok)
            #expect(try info.json["version"] as? String == "test")
            #expect(try info.json["external_url"] as? String == "http://localhost")
            let health = try await client.request(.get, "/healthz")
            #expect(health.status == .ok)
        }
    }

    @Test func datesAreRFC3339WithFractionalSecondsInUTC() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            let me = try await client.request(.get, "/api/v2/users/me", token: owner.token)
            #expect(me.status == .ok)
            let created = try #require(try me.json["created_at"] as? String)
            #expect(created.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil)
        }
    }

    @Test func idsAreWrittenInLowercaseAsCoderDoes() async throws {
        try await withApp { client, _ in
            let owner = try await client.setUpOwner()
            let me = try await client.request(.get, "/api/v2/users/me", token: owner.token)
            #expect(me.status == .ok)
            let text = String(decoding: me.body, as: UTF8.self)
            #expect(text.contains("\"\(owner.userID.uuidString.lowercased())\""))
            #expect(!text.contains(owner.userID.uuidString))
            #expect(try me.json["organization_ids"] as? [String] == [owner.organizationID.uuidString.lowercased()])
        }
    }

    @Test func invalidJSONAndWrongTypesAreRefusedClearly() async throws {
        try await withApp { client, store in
            let garbage = try await client.request(.post, "/api/v2/users/first", rawBody: "{not json")
            #expect(garbage.status == .badRequest)
            #expect(try garbage.message == "Request body must be valid JSON.")
            #expect(try garbage.json["detail"] is String)

            let wrongType = try await client.request(.post, "/api/v2/users/first", rawBody: #"{"email": 5, "username": "a", "password": "b"}"#)
            #expect(wrongType.status == .badRequest)
            #expect(try wrongType.message == "Request body must be valid JSON.")
            #expect(try (wrongType.json["detail"] as? String)?.contains("email") == true)
            #expect(try await store.hasAnyUser() == false)
        }
    }
}

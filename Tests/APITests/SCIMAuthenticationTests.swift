import Foundation
import HTTPTypes
import Testing

/// SCIM's mounting and credentials: both base paths, the key as a bearer token or raw, an
/// owner's session, and every refusal as a SCIM error body.
@Suite struct SCIMAuthenticationTests {
    static let key = "scim-key-0123456789"
    static let paths = ["/scim/v2/ServiceProviderConfig", "/api/v2/scim/v2/ServiceProviderConfig"]

    /// Does not throw: it tells error bodies apart, and a body that is not a JSON object is, by
    /// that, not a SCIM error (false), which the test's `#expect` then reports.
    func isSCIMError(_ response: TestResponse, _ status: Int) -> Bool {
        guard let json = try? response.json else { return false }
        return response.headers[.contentType] == "application/scim+json"
            && (json["schemas"] as? [String]) == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            && json["status"] as? String == String(status)
    }

    @Test func theKeyOpensBothBasePaths() async throws {
        try await withLicensedApp(scimKey: Self.key) { client, _, _ in
            let owner = try await licensedOwner(client)
            for path in Self.paths {
                for authorization in ["Bearer \(Self.key)", Self.key] {
                    let response = try await client.request(.get, path, headers: [.authorization: authorization])
                    #expect(response.status == .ok, "\(path) \(authorization)")
                    #expect(response.headers[.contentType] == "application/scim+json")
                    #expect(try (response.json["schemas"] as? [String])?.first == "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig")
                    #expect(try (response.json["patch"] as? [String: Any])?["supported"] as? Bool == true)
                }
                // An owner's session, as the seed's examples send one.
                #expect(try await client.request(.get, path, token: owner.token).status == .ok)
            }
            let resourceTypes = try await client.request(.get, "/scim/v2/ResourceTypes", headers: [.authorization: "Bearer \(Self.key)"])
            #expect(resourceTypes.status == .ok)
            #expect(try resourceTypes.json["totalResults"] as? Int == 2)
        }
    }

    @Test func wrongOrMissingCredentialsAre401AndMembersAre403() async throws {
        try await withLicensedApp(scimKey: Self.key) { client, _, _ in
            let owner = try await licensedOwner(client)
            let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
            let wrong = try await client.request(.get, Self.paths[0], headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            #expect(isSCIMError(wrong, 401))
            let prefix = try await client.request(.get, Self.paths[0], headers: [.authorization: "Bearer \(Self.key.dropLast())"])
            #expect(prefix.status == .unauthorized)
            let none = try await client.request(.get, Self.paths[0])
            #expect(none.status == .unauthorized)
            #expect(isSCIMError(none, 401))
            let badSession = try await client.request(.get, Self.paths[0], token: "abcdefghij-0123456789012345678901")
            #expect(badSession.status == .unauthorized)
            #expect(isSCIMError(badSession, 401))
            let memberSession = try await client.request(.get, Self.paths[0], token: member.token)
            #expect(memberSession.status == .forbidden)
            #expect(isSCIMError(memberSession, 403))
        }
    }

    @Test func withoutAKeySCIMIsOffForEveryone() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            for path in Self.paths {
                let response = try await client.request(.get, path, token: owner.token)
                #expect(response.status == .notFound)
                #expect(isSCIMError(response, 404))
                #expect(try (response.json["detail"] as? String)?.contains("--scim-auth-header") == true)
            }
        }
    }

    @Test func withAKeyButNoLicenseTheGateRefusesInSCIMsShape() async throws {
        try await withLicensedApp(scimKey: Self.key) { client, _, _ in
            let response = try await client.request(.get, Self.paths[0], headers: [.authorization: "Bearer \(Self.key)"])
            #expect(response.status == .forbidden)
            #expect(isSCIMError(response, 403))
            #expect(try response.json["detail"] as? String == "SCIM is an Enterprise feature. Contact sales!")
            // Every SCIM route, at both base paths, for reads and writes alike.
            let id = UUID().uuidString
            for base in ["/scim/v2", "/api/v2/scim/v2"] {
                for (method, path) in [
                    (HTTPRequest.Method.get, "/Users"), (.post, "/Users"), (.get, "/Users/\(id)"), (.put, "/Users/\(id)"), (.patch, "/Users/\(id)"),
                    (.delete, "/Users/\(id)"), (.post, "/Users/.search"), (.get, "/Groups"), (.post, "/Groups"), (.patch, "/Groups/\(id)"),
                    (.post, "/Bulk"), (.post, "/.search"), (.get, "/Schemas"), (.get, "/ResourceTypes"),
                ] {
                    let refused = try await client.request(method, base + path, json: ["schemas": [String]()], headers: [.authorization: "Bearer \(Self.key)"])
                    #expect(refused.status == .forbidden, "\(method) \(base)\(path)")
                    #expect(isSCIMError(refused, 403), "\(method) \(base)\(path)")
                }
            }
        }
    }
}

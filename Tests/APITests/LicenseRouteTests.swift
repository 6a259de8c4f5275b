import Foundation
import HTTPTypes
import Licensing
import Store
import Testing
import WireFormat

/// `POST/GET/DELETE /licenses` and `GET /entitlements` as Coder answers them.
@Suite struct LicenseRouteTests {
    @Test func anOwnerAddsAListsAndDeletesALicense() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await client.setUpOwner()
            let jwt = try licenseJWT(userLimit: 50)
            let added = try await client.request(.post, "/api/v2/licenses", json: ["license": jwt], token: owner.token)
            #expect(added.status == .created)
            let id = try #require(try added.json["id"] as? Int)
            let claims = try #require(try added.json["claims"] as? [String: Any])
            #expect(claims["sub"] as? String == "customer@example.com")
            #expect((claims["features"] as? [String: Any])?["user_limit"] as? Int == 50)
            #expect(try added.json["uuid"] as? String == claims["jti"] as? String)
            #expect(try added.json["uploaded_at"] is String)

            let listed = try await client.request(.get, "/api/v2/licenses", token: owner.token)
            #expect(listed.status == .ok)
            #expect(try listed.jsonArray.map { $0["id"] as? Int } == [id])
            // The raw JWT is never returned, in any field.
            #expect(!String(decoding: listed.body, as: UTF8.self).contains(jwt.split(separator: ".")[2]))
            #expect(try Set(listed.jsonArray[0].keys) == ["claims", "id", "uploaded_at", "uuid"])

            let entitled = try await client.request(.get, "/api/v2/entitlements")
            #expect(entitled.status == .ok)
            #expect(try entitled.json["has_license"] as? Bool == true)
            let features = try #require(try entitled.json["features"] as? [String: [String: Any]])
            #expect(features["user_limit"]?["limit"] as? Int == 50)
            #expect(features["user_limit"]?["actual"] as? Int == 1)
            #expect(features["audit_log"]?["entitlement"] as? String == "entitled")

            let deleted = try await client.request(.delete, "/api/v2/licenses/\(id)", token: owner.token)
            #expect(deleted.status == .ok)
            #expect(deleted.body.isEmpty)
            #expect(try await store.licenses().isEmpty)
            let after = try await client.request(.get, "/api/v2/entitlements")
            #expect(after.status == .ok)
            #expect(try after.json["has_license"] as? Bool == false)
        }
    }

    @Test func aLicenseSignedByPythonIsAcceptedAndItsClaimsShownVerbatim() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await client.setUpOwner()
            let added = try await client.request(.post, "/api/v2/licenses", json: ["license": try licensingFixture("python_license.jwt")], token: owner.token)
            #expect(added.status == .created)
            #expect(try added.json["uuid"] as? String == "0b5a9c1e-3f4d-4e2a-9b8c-7d6e5f4a3b2c")
            let listed = try await client.request(.get, "/api/v2/licenses", token: owner.token)
            #expect(listed.status == .ok)
            let claims = try #require(try listed.jsonArray.first?["claims"] as? [String: Any])
            // A claim this version does not know, numbers as JSON numbers.
            let future = try #require(claims["unknown_future_claim"] as? [String: Any])
            #expect((future["nested"] as? [Any])?.count == 3)
            #expect(String(decoding: listed.body, as: UTF8.self).contains("[1,2.5,\"x\"]"))
            #expect(claims["license_expires"] as? Int == 1_893_456_000)
        }
    }

    @Test func badLicensesAreRefusedWithTheReason() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await client.setUpOwner()
            let stranger = LicenseIssuer(privateKey: strangerKey, keyID: "test-key")
            let cases: [(String, String)] = [
                ("not a jwt", "token contains an invalid number of segments"),
                (try licenseJWT(issuer: LicenseIssuer(privateKey: licenseKey, keyID: "other-kid")), "no key with ID other-kid"),
                (try licenseJWT(issuer: stranger), "ed25519: verification error"),
                (try licenseIssuer.sign(claimsJSON { $0["version"] = .int(2) }), "license must be version 3"),
                (try licenseIssuer.sign(claimsJSON { $0["license_expires"] = nil }), "license missing license_expires"),
                (try licenseIssuer.sign(claimsJSON { $0["exp"] = nil }), "exp claim missing or not parsable"),
                (try licenseIssuer.sign(claimsJSON { _ in }, header: ["alg": .string("HS256")]), "signing method HS256 is invalid"),
            ]
            for (jwt, reason) in cases {
                let response = try await client.request(.post, "/api/v2/licenses", json: ["license": jwt], token: owner.token)
                #expect(response.status == .badRequest, "\(reason)")
                #expect(try response.message == "Invalid license", "\(reason)")
                #expect(try response.json["detail"] as? String == reason)
            }
            let expired = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT {
                $0.licenseExpires = Date().addingTimeInterval(-2 * 86_400)
                $0.graceEnds = Date().addingTimeInterval(-86_400)
            }], token: owner.token)
            #expect(expired.status == .badRequest)
            #expect(try (expired.json["detail"] as? String)?.hasPrefix("token is expired by 24h0m") == true)
            let huge = try await client.request(.post, "/api/v2/licenses", json: ["license": String(repeating: "a", count: 70_000)], token: owner.token)
            #expect(huge.status == .badRequest)
            #expect(try huge.json["detail"] as? String == "The license is 70000 bytes; at most 65536 are accepted.")
            #expect(try await store.licenses().isEmpty)
        }
    }

    /// Issue #20: a trusted key's license with a time claim no date can hold (a trap when `exp`
    /// was formatted for the database) is a 400 naming the claim, and the replica carries on.
    @Test func timeClaimsOutsideTheYears0001To9999AreRefusedAndTheReplicaCarriesOn() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await client.setUpOwner()
            let range = "is not a time between the years 0001 and 9999"
            let cases: [([String: JSONValue], String)] = [
                (claimsJSON { $0["exp"] = .double(1e300) }, "exp claim out of range: 1e+300 \(range)"),
                (claimsJSON { $0["exp"] = .int(253_402_300_800) }, "exp claim out of range: 253402300800 \(range)"),
                (claimsJSON { $0["nbf"] = .double(-1e300) }, "nbf claim out of range: -1e+300 \(range)"),
                (claimsJSON { $0["iat"] = .double(1e308) }, "iat claim out of range: 1e+308 \(range)"),
                (claimsJSON { $0["license_expires"] = .double(1e300) }, "license_expires claim out of range: 1e+300 \(range)"),
            ]
            for (claims, reason) in cases {
                let response = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseIssuer.sign(claims)], token: owner.token)
                #expect(response.status == .badRequest, "\(reason)")
                #expect(try response.message == "Invalid license", "\(reason)")
                #expect(try response.json["detail"] as? String == reason)
            }
            #expect(try await store.licenses().isEmpty)
            // Two licenses whose counts are Int64.max: nothing overflows.
            for _ in 0..<2 {
                let added = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT(userLimit: Int64.max, features: ["audit_log": Int64.max])], token: owner.token)
                #expect(added.status == .created)
            }
            let entitlements = try await client.request(.get, "/api/v2/entitlements")
            #expect(entitlements.status == .ok)
            #expect(String(decoding: entitlements.body, as: UTF8.self).contains(#""limit":9223372036854775807}"#))
            let listed = try await client.request(.get, "/api/v2/licenses", token: owner.token)
            #expect(listed.status == .ok)
            #expect(try listed.jsonArray.count == 2)
        }
    }

    @Test func aLicenseNotValidYetIsAcceptedButGrantsNothingUntilItStarts() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await client.setUpOwner()
            let renewal = try licenseJWT { $0.notBefore = Date().addingTimeInterval(30 * 86_400) }
            let added = try await client.request(.post, "/api/v2/licenses", json: ["license": renewal], token: owner.token)
            #expect(added.status == .created)
            let entitlements = try await client.request(.get, "/api/v2/entitlements")
            #expect(entitlements.status == .ok)
            #expect(try entitlements.json["has_license"] as? Bool == false)
        }
    }

    @Test func theSameLicenseTwiceIsAConflict() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await client.setUpOwner()
            let jwt = try licenseJWT()
            #expect(try await client.request(.post, "/api/v2/licenses", json: ["license": jwt], token: owner.token).status == .created)
            let again = try await client.request(.post, "/api/v2/licenses", json: ["license": jwt], token: owner.token)
            #expect(again.status == .conflict)
            #expect(try await store.licenses().count == 1)
        }
    }

    @Test func aLicenseForOtherDeploymentsIsRefused() async throws {
        try await withLicensedApp { client, _, services in
            let owner = try await client.setUpOwner()
            let elsewhere = try licenseJWT { $0.deploymentIDs = [UUID().uuidString.lowercased()] }
            let refused = try await client.request(.post, "/api/v2/licenses", json: ["license": elsewhere], token: owner.token)
            #expect(refused.status == .badRequest)
            #expect(try refused.message == "License cannot be used on this deployment!")
            let here = try licenseJWT { $0.deploymentIDs = [services.deploymentID.uuidString.uppercased()] }
            #expect(try await client.request(.post, "/api/v2/licenses", json: ["license": here], token: owner.token).status == .created)
        }
    }

    @Test func onlyOwnersManageLicensesAndOthersListNone() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await client.setUpOwner()
            let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
            let added = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT()], token: owner.token)
            #expect(added.status == .created)
            let id = try #require(try added.json["id"] as? Int)

            let post = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT()], token: member.token)
            #expect(post.status == .forbidden)
            #expect(try post.message == "Forbidden.")
            let list = try await client.request(.get, "/api/v2/licenses", token: member.token)
            #expect(list.status == .ok)
            #expect(String(decoding: list.body, as: UTF8.self) == "[]")
            #expect(try await client.request(.delete, "/api/v2/licenses/\(id)", token: member.token).status == .forbidden)

            for (method, path) in [(HTTPRequest.Method.get, "/api/v2/licenses"), (.post, "/api/v2/licenses"), (.delete, "/api/v2/licenses/\(id)")] {
                #expect(try await client.request(method, path, json: ["license": "x"]).status == .unauthorized)
            }
            // Anonymous, as in Coder.
            #expect(try await client.request(.get, "/api/v2/entitlements").status == .ok)
        }
    }

    @Test func deleteNamesWhatIsWrongWithTheID() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await client.setUpOwner()
            let notANumber = try await client.request(.delete, "/api/v2/licenses/abc", token: owner.token)
            #expect(notANumber.status == .notFound)
            #expect(try notANumber.message == "License ID must be an integer")
            let tooBig = try await client.request(.delete, "/api/v2/licenses/99999999999", token: owner.token)
            #expect(tooBig.status == .notFound)
            #expect(try tooBig.message == "License ID must be an integer")
            let unknown = try await client.request(.delete, "/api/v2/licenses/999", token: owner.token)
            #expect(unknown.status == .notFound)
            #expect(try unknown.message == "Unknown license ID")
        }
    }

    @Test func aBodyWithoutALicenseIsAValidationError() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await client.setUpOwner()
            let missing = try await client.request(.post, "/api/v2/licenses", json: [String: String](), token: owner.token)
            #expect(missing.status == .badRequest)
            #expect(try missing.validationFields == ["license"])
            let wrongType = try await client.request(.post, "/api/v2/licenses", json: ["license": 3], token: owner.token)
            #expect(wrongType.status == .badRequest)
            #expect(try wrongType.message == "Request body must be valid JSON.")
        }
    }

    @Test func theFirstUserCanStartTheDeploymentsTrial() async throws {
        try await withLicensedApp { client, store, _ in
            let created = try await client.request(.post, "/api/v2/users/first", json: [
                "email": "owner@example.com", "username": "owner", "password": TestClient.ownerPassword, "trial": true,
            ])
            #expect(created.status == .created)
            let entitlements = try await client.request(.get, "/api/v2/entitlements")
            #expect(entitlements.status == .ok)
            #expect(try entitlements.json["trial"] as? Bool == true)
            #expect(try entitlements.json["has_license"] as? Bool == true)
            let features = try #require(try entitlements.json["features"] as? [String: [String: Any]])
            #expect(features["template_rbac"]?["entitlement"] as? String == "entitled")
            let stored = try await store.licenses()
            #expect(stored.count == 1)
            let claims = try LicenseVerifier.unverifiedClaims(of: try #require(stored.first).jwt)
            #expect(claims["trial"] == .bool(true))
            #expect(claims["exp"] == claims["license_expires"])
        }
    }

    @Test func theTrialKeySignsNothingButShortTrials() async throws {
        try await withLicensedApp { client, _, services in
            let owner = try await client.setUpOwner()
            // Someone holding the deployment's trial key (a leaked database) cannot mint a license.
            let forged = try licenseJWT(issuer: services.trialIssuer)
            let refused = try await client.request(.post, "/api/v2/licenses", json: ["license": forged], token: owner.token)
            #expect(refused.status == .badRequest)
            #expect(try refused.json["detail"] as? String == "key trial signs only trial licenses of at most 30 days")
            // Nor a second trial, though the key's own rules would let it through: the one
            // trial comes with the first user.
            let secondTrial = try licenseJWT(issuer: services.trialIssuer) { claims in
                let now = Date()
                claims.trial = true
                claims.issuedAt = now
                claims.licenseExpires = now.addingTimeInterval(29 * 86_400)
                claims.graceEnds = now.addingTimeInterval(29 * 86_400)
            }
            let again = try await client.request(.post, "/api/v2/licenses", json: ["license": secondTrial], token: owner.token)
            #expect(again.status == .badRequest)
            #expect(try again.message == "Invalid license")
            #expect(try (again.json["detail"] as? String)?.hasPrefix("A trial license comes only with the first user") == true)
            let listed = try await client.request(.get, "/api/v2/licenses", token: owner.token)
            #expect(listed.status == .ok)
            #expect(try listed.jsonArray.isEmpty)
        }
    }

    @Test func ownersSeeTheEntitlementsWarningsOnEveryResponse() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await client.setUpOwner()
            let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
            // A user limit of 1 with two active users: a warning.
            let added = try await client.request(.post, "/api/v2/licenses", json: ["license": try licenseJWT(userLimit: 1)], token: owner.token)
            #expect(added.status == .created)
            let ownerView = try await client.request(.get, "/api/v2/users/me", token: owner.token)
            #expect(ownerView.headers[values: entitlementsWarning].contains("Your deployment has 2 active users but is only licensed for 1."))
            let memberView = try await client.request(.get, "/api/v2/users/me", token: member.token)
            #expect(memberView.headers[values: entitlementsWarning].isEmpty)
            // Error responses carry them too, as Coder's (set before the handler runs).
            let missing = try await client.request(.get, "/api/v2/users/nobody", token: owner.token)
            #expect(missing.status == .badRequest || missing.status == .notFound)
            #expect(missing.headers[values: entitlementsWarning].contains("Your deployment has 2 active users but is only licensed for 1."))
            let refused = try await client.request(.delete, "/api/v2/licenses/x", token: owner.token)
            #expect(refused.status == .notFound)
            #expect(refused.headers[values: entitlementsWarning].count == ownerView.headers[values: entitlementsWarning].count)
            let memberRefused = try await client.request(.delete, "/api/v2/licenses/1", token: member.token)
            #expect(memberRefused.status == .forbidden)
            #expect(try memberRefused.message == "Forbidden.")
            #expect(memberRefused.headers[values: entitlementsWarning].isEmpty)
        }
    }
}

let entitlementsWarning = HTTPField.Name("X-Coder-Entitlements-Warning")!

/// Valid v3 claims signed by the test key, changed by `change`.
func claimsJSON(_ change: (inout [String: JSONValue]) -> Void) -> [String: JSONValue] {
    let now = Int64(Date().timeIntervalSince1970)
    var claims: [String: JSONValue] = [
        "jti": .string(UUID().uuidString.lowercased()), "iat": .int(now - 60), "nbf": .int(now - 60),
        "license_expires": .int(now + 365 * 86_400), "exp": .int(now + 395 * 86_400), "version": .int(3),
        "all_features": .bool(true), "features": .object([:]),
    ]
    change(&claims)
    return claims
}

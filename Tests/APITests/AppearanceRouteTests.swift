import Foundation
import Store
import Testing

/// `GET/PUT /appearance`: the seed's shape plus announcement banners and support links, owners
/// only, validated whole, and behind the `appearance` feature.
@Suite struct AppearanceRouteTests {
    static var banner: [String: Any] { ["enabled": true, "message": "Maintenance at 18:00", "background_color": "#00ff7f"] }

    @Test func anOwnerSetsTheAppearanceAndEveryoneSeesIt() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
            let put = try await client.request(.put, "/api/v2/appearance", json: [
                "logo_url": "https://example.com/logo.png", "service_banner": Self.banner,
            ], token: owner.token)
            #expect(put.status == .ok)
            #expect(try put.json["logo_url"] as? String == "https://example.com/logo.png")
            #expect(try (put.json["service_banner"] as? [String: Any])?["message"] as? String == "Maintenance at 18:00")

            let seen = try await client.request(.get, "/api/v2/appearance", token: member.token)
            #expect(seen.status == .ok)
            #expect(try seen.json["logo_url"] as? String == "https://example.com/logo.png")
            let serviceBanner = try #require(try seen.json["service_banner"] as? [String: Any])
            #expect(serviceBanner["enabled"] as? Bool == true)
            #expect(serviceBanner["background_color"] as? String == "#00ff7f")
            #expect(try (seen.json["announcement_banners"] as? [[String: Any]])?.count == 1)
            // The defaults until an owner sets support links.
            #expect(try (seen.json["support_links"] as? [[String: Any]])?.count == 3)
            #expect(try await store.appearance().logoURL == "https://example.com/logo.png")
        }
    }

    @Test func announcementBannersWinAndServiceBannerMirrorsTheFirst() async throws {
        try await withLicensedApp { client, _, _ in
            let owner = try await licensedOwner(client)
            let second: [String: Any] = ["enabled": false, "message": "later", "background_color": "#123456"]
            let put = try await client.request(.put, "/api/v2/appearance", json: [
                "service_banner": ["enabled": true, "message": "ignored", "background_color": "#000000"],
                "announcement_banners": [Self.banner, second],
                "support_links": [["name": "Help", "target": "mailto:help@example.com", "icon": "chat"]],
            ], token: owner.token)
            #expect(put.status == .ok)
            let got = try await client.request(.get, "/api/v2/appearance", token: owner.token)
            #expect(got.status == .ok)
            #expect(try (got.json["service_banner"] as? [String: Any])?["message"] as? String == "Maintenance at 18:00")
            #expect(try (got.json["announcement_banners"] as? [[String: Any]])?.map { $0["message"] as? String } == ["Maintenance at 18:00", "later"])
            #expect(try (got.json["support_links"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Help"])
        }
    }

    @Test func badValuesAreRefusedAndNothingIsStored() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            func put(_ body: [String: Any]) async throws -> TestResponse {
                try await client.request(.put, "/api/v2/appearance", json: body, token: owner.token)
            }
            let noHash = try await put(["service_banner": ["enabled": true, "message": "x", "background_color": "00ff7f"]])
            #expect(noHash.status == .badRequest)
            #expect(try noHash.message == "Invalid color format")
            #expect(try noHash.json["detail"] as? String == "no # prefix")
            let short = try await put(["announcement_banners": [Self.banner, ["enabled": true, "message": "x", "background_color": "#fff"]]])
            #expect(short.status == .badRequest)
            #expect(try short.message == "Invalid color format")
            #expect(try short.json["detail"] as? String == "expected # prefix and 6 characters")
            let script = try await put(["logo_url": "javascript:alert(1)"])
            #expect(script.status == .badRequest)
            #expect(try script.message == "Invalid logo URL.")
            let long = try await put(["service_banner": ["enabled": true, "message": String(repeating: "a", count: 2049), "background_color": "#000000"]])
            #expect(long.status == .badRequest)
            let tooMany = try await put(["announcement_banners": Array(repeating: Self.banner, count: 17)])
            #expect(tooMany.status == .badRequest)
            let badLink = try await put(["support_links": [["name": "x", "target": "file:///etc/passwd"]]])
            #expect(badLink.status == .badRequest)
            #expect(try badLink.message == "Invalid support link.")
            let badIcon = try await put(["support_links": [["name": "x", "target": "https://example.com", "icon": "skull"]]])
            #expect(badIcon.status == .badRequest)
            #expect(try badIcon.message == "Invalid support link.")
            let wrongType = try await put(["logo_url": 7])
            #expect(wrongType.status == .badRequest)
            #expect(try wrongType.message == "Request body must be valid JSON.")
            #expect(try await store.appearance() == .unset)
        }
    }

    @Test func onlyOwnersMayUpdate() async throws {
        try await withLicensedApp { client, store, _ in
            let owner = try await licensedOwner(client)
            let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
            let refused = try await client.request(.put, "/api/v2/appearance", json: ["logo_url": ""], token: member.token)
            #expect(refused.status == .forbidden)
            #expect(try refused.message == "Insufficient permissions to update appearance")
            #expect(try await client.request(.get, "/api/v2/appearance").status == .unauthorized)
            #expect(try await client.request(.put, "/api/v2/appearance", json: ["logo_url": ""]).status == .unauthorized)
            #expect(try await store.appearance() == .unset)
        }
    }

    @Test func withoutTheFeatureGetShowsTheDefaultsAndPutIsRefused() async throws {
        try await withLicensedApp { client, store, services in
            let owner = try await client.setUpOwner()
            // Stored earlier, while a license allowed it: not shown now.
            try await store.setAppearance(Appearance(logoURL: "https://example.com/old.png"))
            try await services.appearance.reload()
            let got = try await client.request(.get, "/api/v2/appearance", token: owner.token)
            #expect(got.status == .ok)
            #expect(try got.json["logo_url"] as? String == "")
            #expect(try (got.json["service_banner"] as? [String: Any])?["enabled"] as? Bool == false)
            let put = try await client.request(.put, "/api/v2/appearance", json: ["logo_url": ""], token: owner.token)
            #expect(put.status == .forbidden)
            #expect(try put.message == "Appearance is an Enterprise feature. Contact sales!")
            #expect(try await store.appearance().logoURL == "https://example.com/old.png")
        }
    }
}

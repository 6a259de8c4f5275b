import Foundation
import TestSupport
import Testing

/// Failed logins against replicas configured by their flags: per account, per client address,
/// and whose word for the address is believed.
@Suite struct LoginThrottleReplicaTests {
    static let limits = ["--login-max-failures-per-account", "3", "--login-max-failures-per-address", "5", "--login-failure-window", "10m"]

    func login(_ base: String, _ email: String, _ password: String, from address: String) async throws -> HTTP.Response {
        try await HTTP.request(.POST, "\(base)/api/v2/users/login", json: ["email": email, "password": password], headers: [("X-Forwarded-For", address)])
    }

    @Test func failedLoginsAreRefusedWith429PerAccountAndPerForwardedAddress() async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            let trusting = try await cluster.start(extra: Self.limits + ["--proxy-trusted-origins", "127.0.0.1/32", "--proxy-trusted-headers", "X-Forwarded-For"])
            try await cluster.createOwner()
            let memberPassword = "M3mber-Passw0rd!"
            let me = try await HTTP.request(.GET, "\(trusting.base)/api/v2/users/me", token: cluster.token)
            #expect(me.status == 200)
            let organization = try #require(try (me.json["organization_ids"] as? [String])?.first)
            let created = try await HTTP.request(.POST, "\(trusting.base)/api/v2/users", json: [
                "email": "member@example.com", "username": "member", "password": memberPassword, "organization_id": organization,
            ], token: cluster.token)
            #expect(created.status == 201)

            // The account: three wrong passwords, then even the right one is refused, from anywhere.
            for _ in 0..<3 {
                #expect(try await login(trusting.base, "owner@example.com", "Wr0ng-Passw0rd!", from: "203.0.113.1").status == 401)
            }
            let locked = try await login(trusting.base, "owner@example.com", "Sup3r-Secret-Passw0rd!", from: "203.0.113.9")
            #expect(locked.status == 429)
            #expect(try locked.json["message"] as? String == "Too many failed login attempts. Try again later.")
            let retryAfter = try #require(locked.headers.first(name: "Retry-After").flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 600)
            // Another account, from another (forwarded) address, is unaffected.
            #expect(try await login(trusting.base, "member@example.com", memberPassword, from: "203.0.113.2").status == 201)

            // The address: five failures on any accounts lock it, for a good password too.
            for index in 0..<5 {
                #expect(try await login(trusting.base, "nobody\(index)@example.com", "Wr0ng-Passw0rd!", from: "198.51.100.7").status == 401)
            }
            #expect(try await login(trusting.base, "member@example.com", memberPassword, from: "198.51.100.7").status == 429)
            #expect(try await login(trusting.base, "member@example.com", memberPassword, from: "203.0.113.2").status == 201)

            // A replica that trusts no proxy ignores X-Forwarded-For: every attempt is the peer's.
            let plain = try await cluster.start(extra: Self.limits)
            for index in 0..<5 {
                #expect(try await login(plain.base, "other\(index)@example.com", "Wr0ng-Passw0rd!", from: "192.0.2.\(index + 1)").status == 401)
            }
            #expect(try await login(plain.base, "member@example.com", memberPassword, from: "192.0.2.99").status == 429)
        }
    }
}

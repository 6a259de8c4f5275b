import Foundation
import Testing
@testable import API

@Suite struct PasswordHashTests {
    @Test func hashesCarryTheirParametersAndWeakerOnesNeedARehash() throws {
        let current = Passwords.Parameters.current
        let fresh = try Passwords.hash("Sup3r-Secret-Passw0rd!")
        #expect(Passwords.parameters(of: fresh) == current)
        #expect(!Passwords.needsRehash(fresh))

        let cheap = try Passwords.hash("Sup3r-Secret-Passw0rd!", parameters: .init(rounds: 1000, saltBytes: 16, keyBytes: 32))
        #expect(Passwords.verify("Sup3r-Secret-Passw0rd!", against: cheap))
        #expect(Passwords.needsRehash(cheap))
        #expect(Passwords.needsRehash(try Passwords.hash("x", parameters: .init(rounds: current.rounds, saltBytes: 8, keyBytes: 32))))
        #expect(!Passwords.needsRehash(try Passwords.hash("x", parameters: .init(rounds: current.rounds * 2, saltBytes: 16, keyBytes: 32))))
        #expect(Passwords.needsRehash("not-a-hash"))
    }

    @Test func aSuccessfulLoginUpgradesAHashMadeWithLowerParameters() async throws {
        // Production's cost: the upgrade is to `.current`.
        try await withApp(passwordHashing: .current) { client, store in
            let owner = try await client.setUpOwner()
            let cheap = try Passwords.hash(TestClient.ownerPassword, parameters: .init(rounds: 1000, saltBytes: 16, keyBytes: 32))
            try await store.pool.query("UPDATE users SET hashed_password = $1 WHERE id = $2", [cheap, owner.userID])

            // A wrong password changes nothing.
            let wrong = try await client.request(.post, "/api/v2/users/login", json: ["email": "owner@example.com", "password": "Wr0ng-Passw0rd!"])
            #expect(wrong.status == .unauthorized)
            #expect(try await store.user(id: owner.userID)?.hashedPassword == cheap)

            _ = try await client.login("owner@example.com", TestClient.ownerPassword)
            let upgraded = try #require(try await store.user(id: owner.userID)?.hashedPassword)
            #expect(upgraded != cheap)
            #expect(Passwords.parameters(of: upgraded) == .current)
            #expect(Passwords.verify(TestClient.ownerPassword, against: upgraded))
            _ = try await client.login("owner@example.com", TestClient.ownerPassword)
        }
    }
}

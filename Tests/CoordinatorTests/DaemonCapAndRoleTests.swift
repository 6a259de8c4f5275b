import Foundation
import Postgres
import ProvisionerProtocol
import TestSupport
import Testing
import WebSocket

/// Connected daemons are capped per user and per organization (refused before the upgrade, the
/// same process reconnecting taking its own place back), and a daemon socket opened with a session
/// token keeps only the permission it was opened with: a template admin demoted on another replica
/// loses their organization daemon. Two replicas in one test: one test at a time.
@Suite(.serialized) struct DaemonCapAndRoleTests: ProvisioningSuite {
    @Test func daemonsPastTheUsersOrTheOrganizationsCapAreRefusedBeforeTheUpgrade() async throws {
        try await withSetUp(replicas: 1, extra: ["--provisioner-daemons-per-user", "2", "--provisioner-daemons-per-organization", "6"]) { setup in
            let a = setup.cluster.members[0]
            let path = ProvisionerServe.path(organization: "default")
            let bobToken = try await memberToken(setup, name: "bob")
            let bobID = try await sessionUserID(setup, token: bobToken)

            // Bob's first two user daemons connect; the third is refused, before the upgrade, saying why.
            let (first, _) = try await hostile(a, name: "laptop-1", instanceID: "laptop-1", tags: ["scope=user"], token: bobToken)
            let (second, secondWelcome) = try await hostile(a, name: "laptop-2", instanceID: "laptop-2", tags: ["scope=user"], token: bobToken)
            let third = try await RawHTTP.upgrade(
                port: a.port, path: "\(path)?provisioner=echo&tag=scope=user&name=laptop-3&instance_id=laptop-3", headers: [("Coder-Session-Token", bobToken)]
            )
            #expect(third.status == 429, "\(third.body)")
            #expect(try third.message == "You already have 2 provisioner daemons connected to this organization, the most one user may run.")
            #expect(try (third.json["detail"] as? String)?.contains("--provisioner-daemons-per-user") == true, "\(third.body)")
            #expect(third.headers["connection"]?.lowercased() == "close")
            // The first two stay connected and served.
            #expect(try await stillServed(first, id: 1))
            #expect(try await stillServed(second, id: 1))
            // The same process reconnecting is not one more: it takes its own place back.
            let (secondAgain, secondAgainWelcome) = try await hostile(a, name: "laptop-2", instanceID: "laptop-2", tags: ["scope=user"], token: bobToken)
            #expect(secondAgainWelcome.daemonID == secondWelcome.daemonID)
            #expect(await second.closed().code == .policyViolation)
            let bobs = try await daemonList(setup, at: a).filter { ($0["tags"] as? [String: String])?["owner"] == bobID }
            #expect(bobs.count == 2, "\(bobs)")

            // Carol starts eight at once: exactly two get in, and only two are connected (the cap
            // counts connected daemons: a client that fails after its registration leaves a row that
            // no longer counts, so the rows may be more).
            let carolToken = try await memberToken(setup, name: "carol")
            let carolID = try await sessionUserID(setup, token: carolToken)
            let carols = await withTaskGroup(of: HostileDaemon?.self) { group in
                for index in 0..<8 {
                    group.addTask { try? await self.hostile(a, name: "carol-\(index)", tags: ["scope=user"], token: carolToken).0 }
                }
                return await group.reduce(into: [HostileDaemon]()) { if let daemon = $1 { $0.append(daemon) } }
            }
            #expect(carols.count == 2)
            let pool = database(setup)
            let carol = try #require(UUID(uuidString: carolID))
            // Never more than two connected; a row of a client that failed is marked so once its
            // session has ended.
            try await eventually("two of carol's daemons connected") {
                let connected = try await pool.query("SELECT count(*) FROM provisioner_daemons WHERE owner_id = $1 AND connected", [carol]).first?.decode(0, as: Int.self)
                #expect((connected ?? 0) <= 2)
                return connected == 2
            }
            await pool.close()

            // The organization's cap (6) counts every owner: bob's 2, carol's 2, and 2 of the
            // organization's; the next is refused.
            let (organizationDaemon, _) = try await hostile(a, name: "org-1")
            let (otherOrganizationDaemon, _) = try await hostile(a, name: "org-2")
            let seventh = try await RawHTTP.upgrade(port: a.port, path: "\(path)?provisioner=echo&name=org-3", headers: [("Coder-Provisioner-Daemon-PSK", Self.psk)])
            #expect(seventh.status == 429, "\(seventh.body)")
            #expect(try seventh.message == "This organization already has 6 provisioner daemons connected, the most it may have.")
            #expect(try (seventh.json["detail"] as? String)?.contains("--provisioner-daemons-per-organization") == true)
            // One leaving frees a place (once its replica has marked it disconnected).
            await organizationDaemon.close()
            var replacement: HostileDaemon?
            try await eventually("a place once a daemon has left", timeout: .seconds(30)) {
                replacement = try? await hostile(a, name: "org-3").0
                return replacement != nil
            }

            await replacement?.close()
            await otherOrganizationDaemon.close()
            for daemon in carols { await daemon.close() }
            await secondAgain.close()
            await first.close()
        }
    }

    /// A template admin's organization daemon, connected with their session token,
    /// is closed when the role is taken away (through another replica); their own user daemon,
    /// which needs no role, stays.
    @Test func aDemotedTemplateAdminsOrganizationDaemonIsClosedOnEveryReplica() async throws {
        try await withSetUp(replicas: 2) { setup in
            let (a, b) = (setup.cluster.members[0], setup.cluster.members[1])
            let path = ProvisionerServe.path(organization: "default")
            let token = try await memberToken(setup, name: "tadmin")
            let userID = try await sessionUserID(setup, token: token)

            // A member may not run the organization's daemons…
            let before = try await RawHTTP.upgrade(port: a.port, path: "\(path)?provisioner=echo&name=ta-org", headers: [("Coder-Session-Token", token)])
            #expect(before.status == 403, "\(before.body)")
            // …until an owner makes them a template admin (through A: its token cache is dropped at once).
            let promote = try await HTTP.request(.PUT, "\(a.base)/api/v2/users/\(userID)/roles", json: ["roles": ["template-admin"]], token: setup.cluster.token)
            #expect(promote.status == 200, "\(String(decoding: promote.body, as: UTF8.self))")
            #expect(try (promote.json["roles"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["template-admin"])
            let (organizationDaemon, _) = try await hostile(a, name: "ta-org", token: token)
            let (ownDaemon, _) = try await hostile(a, name: "ta-own", tags: ["scope=user"], token: token)
            #expect(try await stillServed(organizationDaemon, id: 1))

            // Demoted through B: A closes the organization daemon, which the role was needed for.
            let demote = try await HTTP.request(.PUT, "\(b.base)/api/v2/users/\(userID)/roles", json: ["roles": [String]()], token: setup.cluster.token)
            #expect(demote.status == 200, "\(String(decoding: demote.body, as: UTF8.self))")
            #expect(try (demote.json["roles"] as? [[String: Any]])?.isEmpty == true)
            #expect(await organizationDaemon.closed().code == .policyViolation)
            // Their own daemon needs only membership: still connected and served.
            #expect(try await stillServed(ownDaemon, id: 1))
            // And the token no longer registers an organization daemon.
            let after = try await RawHTTP.upgrade(port: a.port, path: "\(path)?provisioner=echo&name=ta-org", headers: [("Coder-Session-Token", token)])
            #expect(after.status == 403, "\(after.body)")

            // Who may change roles: owners, never their own, only the product's roles.
            let ownerID = try await sessionUserID(setup, token: setup.cluster.token)
            let own = try await HTTP.request(.PUT, "\(a.base)/api/v2/users/\(ownerID)/roles", json: ["roles": [String]()], token: setup.cluster.token)
            #expect(own.status == 400)
            #expect(try own.json["message"] as? String == "You cannot change your own roles.")
            let byMember = try await HTTP.request(.PUT, "\(a.base)/api/v2/users/\(ownerID)/roles", json: ["roles": [String]()], token: token)
            #expect(byMember.status == 403)
            let unknown = try await HTTP.request(.PUT, "\(a.base)/api/v2/users/\(userID)/roles", json: ["roles": ["superuser"]], token: setup.cluster.token)
            #expect(unknown.status == 400)
            #expect(try unknown.json["message"] as? String == "\"superuser\" is not a supported role")

            await ownDaemon.close()
        }
    }
}

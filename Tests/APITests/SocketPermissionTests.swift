import Foundation
import Postgres
import Store
import Synchronization
import Testing
@testable import API

/// Issue 20, finding 11: an open socket keeps the permission its upgrade needed, and a change of
/// its user's roles or status asks it again (`AuthenticatedSockets.recheck`).
@Suite struct SocketPermissionTests {
    struct Fixture {
        let store: Store
        let organizationID: UUID
        let authenticator: Authenticator

        static func make() async throws -> Fixture {
            let (_, store) = try await migratedStore()
            let (_, organization) = try await store.createFirstUser(
                NewUser(email: "owner@example.com", username: "owner", hashedPassword: "unused", siteRoles: ["owner"], organizationID: nil),
                organizationName: "default"
            )
            return Fixture(store: store, organizationID: organization.id, authenticator: Authenticator(store: store))
        }

        /// A template admin of the organization, and the subject of a fresh session of theirs.
        func templateAdmin(_ name: String) async throws -> (User, Subject) {
            let user = try await store.createUser(NewUser(
                email: "\(name)@example.com", username: name, hashedPassword: "unused", siteRoles: ["template-admin"], organizationID: organizationID
            ))
            let token = try await authenticator.issueKey(for: user.id, loginType: "password", lifetime: 3600)
            return (user, try await authenticator.authenticate(token: token))
        }

        /// What an organization daemon's socket needs, and what a user daemon's needs.
        var organizationDaemon: AuthenticatedSockets.Permission {
            let organizationID = self.organizationID
            return { RBAC.can($0, .read, .organization(id: organizationID)) && RBAC.can($0, .create, .provisionerDaemons(organization: organizationID)) }
        }

        var userDaemon: AuthenticatedSockets.Permission {
            let organizationID = self.organizationID
            return { RBAC.can($0, .read, .organization(id: organizationID)) }
        }
    }

    @Test func aRoleChangeClosesTheSocketsWhosePermissionItTookAndOnlyThose() async throws {
        let fixture = try await Fixture.make()
        let (admin, subject) = try await fixture.templateAdmin("admin")
        let closed = Mutex<[String]>([])
        let sockets = fixture.authenticator.sockets
        _ = sockets.register(subject, requires: fixture.organizationDaemon, close: { reason in closed.withLock { $0.append("organization daemon: \(reason)") } })
        _ = sockets.register(subject, requires: fixture.userDaemon, close: { reason in closed.withLock { $0.append("user daemon: \(reason)") } })

        // A change that takes nothing the sockets need closes nothing.
        _ = try await fixture.store.setSiteRoles(id: admin.id, ["auditor", "template-admin"])
        await fixture.authenticator.userChanged(admin.id)
        #expect(closed.withLock { $0 }.isEmpty)
        #expect(sockets.count == 2)

        // Demoted to member: the organization daemon's socket is closed, the user daemon's stays.
        _ = try await fixture.store.setSiteRoles(id: admin.id, [])
        await fixture.authenticator.userChanged(admin.id)
        #expect(closed.withLock { $0 } == ["organization daemon: permission revoked"])
        #expect(sockets.count == 1)

        // Suspended: the rest goes too.
        _ = try await fixture.store.setUserStatus(id: admin.id, .suspended)
        await fixture.authenticator.userChanged(admin.id)
        #expect(closed.withLock { $0 }.count == 2)
        #expect(sockets.count == 0)
        await fixture.store.pool.close()
    }

    /// The race: the upgrade read the user before the change was heard, and registers its socket
    /// after. The socket is re-checked as it is registered.
    @Test func aSocketRegisteredAfterAChangeItsUpgradeMissedIsCheckedAtOnce() async throws {
        let fixture = try await Fixture.make()
        let authenticatedAt = ContinuousClock.now
        let (admin, subject) = try await fixture.templateAdmin("racer")
        _ = try await fixture.store.setSiteRoles(id: admin.id, [])
        // The change is heard (here, or from another replica) while the upgrade is being decided.
        fixture.authenticator.sockets.noteChange(userID: admin.id)
        let (closes, closed) = AsyncStream<String>.makeStream()
        _ = fixture.authenticator.sockets.register(subject, authenticatedAt: authenticatedAt, requires: fixture.organizationDaemon, close: { reason in
            closed.yield(reason)
        })
        var iterator = closes.makeAsyncIterator()
        let reason = await iterator.next()
        #expect(reason == "permission revoked")

        // A socket authenticated after the change was heard is not re-checked for it.
        let (other, otherSubject) = try await fixture.templateAdmin("calm")
        fixture.authenticator.sockets.noteChange(userID: other.id)
        _ = fixture.authenticator.sockets.register(otherSubject, authenticatedAt: ContinuousClock.now, requires: fixture.organizationDaemon, close: { _ in })
        #expect(fixture.authenticator.sockets.count == 1)
        await fixture.store.pool.close()
    }
}

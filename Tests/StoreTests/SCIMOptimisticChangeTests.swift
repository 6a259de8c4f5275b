import Foundation
import Store
import Synchronization
import Testing
import WireFormat

/// A SCIM PUT or PATCH is computed outside any transaction, on the resource as read, and stored
/// only if the resource is still that version: one concurrent change in between is retried on the
/// new version, a second is a version mismatch (412), and nothing half-written stays.
@Suite struct SCIMOptimisticChangeTests {
    static let noAudit: Store.SCIMUserAudit = { _, _, _ in nil }

    static func titled(_ user: SCIMUser, _ title: String) -> SCIMUserWrite {
        var attributes = user.attributes
        attributes["title"] = .string(title)
        return SCIMUserWrite(userName: user.userName, externalID: user.externalID, attributes: attributes, active: nil, email: user.user.email)
    }

    @Test func aChangeRacedOnceIsRetriedOnTheNewVersionAndRacedTwiceIsAMismatch() async throws {
        try await withStore { store, _ in
            let (_, organization) = try await store.createFirstUser(
                NewUser(email: "owner@example.com", username: "owner", hashedPassword: "", siteRoles: ["owner"], organizationID: nil),
                organizationName: "default"
            )
            let write = SCIMUserWrite(userName: "ann@example.com", externalID: nil, attributes: [:], active: true, email: "ann@example.com")
            let ann = try await store.scimCreateUser(write, organizationID: organization.id, usernames: ["ann"], audit: Self.noAudit).user
            let id = ann.user.id

            // Another writer gets in between the read and the write, once: the change runs again
            // on what that writer stored.
            let calls = Mutex(0)
            let replaced = try await store.scimReplaceUser(id: id, organizationID: organization.id, ifVersion: nil, audit: Self.noAudit) { current in
                let call = calls.withLock { $0 += 1; return $0 }
                if call == 1 {
                    _ = try await store.scimReplaceUser(id: id, organizationID: organization.id, ifVersion: nil, audit: Self.noAudit) { Self.titled($0, "theirs") }
                } else {
                    #expect(current.attributes["title"] == .string("theirs"))
                }
                return Self.titled(current, "mine \(call)")
            }
            #expect(calls.withLock { $0 } == 2)
            #expect(replaced?.attributes["title"] == .string("mine 2"))

            // Raced every time: a mismatch after the retry, and only the other writer's changes stored.
            let raced = Mutex(0)
            await #expect(throws: SCIMWriteError.versionMismatch) {
                _ = try await store.scimReplaceUser(id: id, organizationID: organization.id, ifVersion: nil, audit: Self.noAudit) { current in
                    let call = raced.withLock { $0 += 1; return $0 }
                    _ = try await store.scimReplaceUser(id: id, organizationID: organization.id, ifVersion: nil, audit: Self.noAudit) { Self.titled($0, "theirs \(call)") }
                    return Self.titled(current, "lost")
                }
            }
            #expect(raced.withLock { $0 } == 2)
            #expect(try await store.scimUser(id: id, organizationID: organization.id)?.attributes["title"] == .string("theirs 2"))

            // A stale If-Match is a mismatch without running the change.
            let stale = Mutex(0)
            await #expect(throws: SCIMWriteError.versionMismatch) {
                _ = try await store.scimReplaceUser(id: id, organizationID: organization.id, ifVersion: ann.version, audit: Self.noAudit) { current in
                    stale.withLock { $0 += 1 }
                    return Self.titled(current, "stale")
                }
            }
            #expect(stale.withLock { $0 } == 0)
        }
    }
}

import Foundation
import ProvisionerProtocol
import TestSupport
import Testing

/// A provisioner daemon's registration is audited with the upgrade's request, in the
/// registration's transaction: `provisioner_daemon`, create for a new daemon and write for one
/// reconnecting; a refused registration writes no row.
@Suite struct DaemonAuditTests: ProvisioningSuite {
    @Test func aDaemonsRegistrationIsAuditedCreateThenWriteOnReconnect() async throws {
        try await withSetUp(replicas: 1, extra: LicensingClusterTests.keyFlag) { setup in
            let a = setup.cluster.members[0]
            let license = try LicensingClusterTests.license(features: [:])
            #expect(try await HTTP.request(.POST, "\(a.base)/api/v2/licenses", json: ["license": license], token: setup.cluster.token).status == 201)

            // An organization daemon (the PSK) registers, drops, and the same process reconnects.
            let (first, welcome) = try await hostile(a, name: "audited", instanceID: "host-one")
            await first.close()
            let (again, againWelcome) = try await hostile(a, name: "audited", instanceID: "host-one")
            #expect(againWelcome.daemonID == welcome.daemonID)
            // Another process under that name is refused while it is connected: no row.
            let path = ProvisionerServe.path(organization: "default")
            let twin = try await RawHTTP.upgrade(
                port: a.port, path: "\(path)?provisioner=echo&name=audited&instance_id=host-two", headers: [(ProvisionerServe.pskHeader, Self.psk)]
            )
            #expect(twin.status == 409, "\(twin.body)")
            // A member's own daemon, registered with their session token.
            let bobToken = try await memberToken(setup, name: "bob")
            let bobID = try await sessionUserID(setup, token: bobToken)
            let (bobs, bobsWelcome) = try await hostile(a, name: "bobs", instanceID: "bob-laptop", tags: ["scope=user"], token: bobToken)

            let audit = try await HTTP.request(.GET, "\(a.base)/api/v2/audit?q=resource_type:provisioner_daemon", token: setup.cluster.token)
            #expect(audit.status == 200)
            let text = String(decoding: audit.body, as: UTF8.self)
            let rows = try audit.json["audit_logs"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["action"] as? String } == ["create", "write", "create"], "\(text)")
            try #require(rows.count == 3)
            let (bobsRow, reconnect, created) = (rows[0], rows[1], rows[2])
            func diff(_ row: [String: Any]) -> [String: [String: Any]] { row["diff"] as? [String: [String: Any]] ?? [:] }
            func credential(_ row: [String: Any]) -> String? { (row["additional_fields"] as? [String: Any])?["credential"] as? String }

            for row in [created, reconnect] {
                #expect(row["resource_id"] as? String == welcome.daemonID.uuidString.lowercased())
                #expect(row["resource_target"] as? String == "audited")
                #expect(row["organization_id"] as? String == setup.organizationID)
                #expect(row["status_code"] as? Int == 101)
                // The PSK is no user.
                #expect(row["user"] is NSNull)
                #expect(credential(row) == "psk")
            }
            #expect(diff(created)["name"]?["new"] as? String == "audited")
            #expect(diff(created)["scope"]?["new"] as? String == "organization")
            // The instance id only shows that it was set, never its value.
            #expect(diff(created)["instance_id"]?["secret"] as? Bool == true)
            #expect(diff(created)["instance_id"]?["new"] as? String == "")
            // The reconnect: a new connection, the same process.
            #expect(diff(reconnect)["connection_id"] != nil)
            #expect(diff(reconnect)["instance_id"] == nil)
            #expect(!text.contains("host-one"))

            #expect(bobsRow["resource_id"] as? String == bobsWelcome.daemonID.uuidString.lowercased())
            #expect(bobsRow["resource_target"] as? String == "bobs")
            #expect((bobsRow["user"] as? [String: Any])?["username"] as? String == "bob")
            #expect(credential(bobsRow) == "session_token")
            #expect(diff(bobsRow)["owner_id"]?["new"] as? String == bobID)
            #expect(diff(bobsRow)["scope"]?["new"] as? String == "user")
            #expect(!text.contains(bobToken))

            await again.close()
            await bobs.close()
        }
    }
}

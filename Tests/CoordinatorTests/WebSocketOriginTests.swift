import Foundation
import TestSupport
import Testing

/// Cross-site WebSocket hijacking: a page elsewhere opening a log stream with the user's cookie.
@Suite struct WebSocketOriginTests {
    @Test func aCookieAuthenticatedUpgradeMustComeFromTheAccessURL() async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            let member = try await cluster.start()
            try await cluster.createOwner()
            // A build that does not exist: an upgrade that passes the origin check is answered 404.
            let path = "/api/v2/workspacebuilds/\(UUID())/logs?follow=true"
            let cookie = ("Cookie", "coder_session_token=\(cluster.token)")

            let foreign = try await RawHTTP.upgrade(port: member.port, path: path, headers: [cookie, ("Origin", "https://evil.example")])
            #expect(foreign.status == 403, "\(foreign.body)")
            #expect(try foreign.message?.contains("https://evil.example") == true)

            let own = try await RawHTTP.upgrade(port: member.port, path: path, headers: [cookie, ("Origin", "http://127.0.0.1:\(member.port)")])
            #expect(own.status == 404, "\(own.body)")
            let noOrigin = try await RawHTTP.upgrade(port: member.port, path: path, headers: [cookie])
            #expect(noOrigin.status == 404, "\(noOrigin.body)")
            // A header token cannot have been added by a browser on its own: no origin needed.
            let byHeader = try await RawHTTP.upgrade(port: member.port, path: path, headers: [("Coder-Session-Token", cluster.token), ("Origin", "https://evil.example")])
            #expect(byHeader.status == 404, "\(byHeader.body)")
        }
    }
}

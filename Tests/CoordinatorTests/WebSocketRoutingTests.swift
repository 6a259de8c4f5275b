import Foundation
import TestSupport
import Testing

/// WebSocket routes are routes of the one router: what an upgrade request gets for each kind of
/// path, and what a plain request to a WebSocket path gets.
@Suite struct WebSocketRoutingTests {
    @Test func upgradesAndPlainRequestsAreAnsweredByTheSameRoutes() async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            let member = try await cluster.start()
            try await cluster.createOwner()
            let serve = "/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo"

            // A malformed handshake is refused before authentication: 400 naming the header, not 401.
            let connection = try RawConnection(port: member.port)
            connection.send("GET \(serve) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n")
            let malformed = try #require(RawResponse(parsing: Array(await connection.readUntilClosed(timeout: 20).data.utf8)))
            #expect(malformed.status == 400, "\(malformed.body)")
            #expect(try malformed.message?.contains("Sec-WebSocket-Key") == true, "\(malformed.body)")
            #expect(malformed.headers["connection"] == "close")

            // A well-formed upgrade without credentials reaches the route's own authentication.
            let anonymous = try await RawHTTP.upgrade(port: member.port, path: serve, headers: [])
            #expect(anonymous.status == 401, "\(anonymous.body)")
            #expect(try anonymous.message == "provisioner daemon auth token required")

            // An upgrade to an ordinary route is answered by that route, once, and the connection closes.
            let buildInfo = try await RawHTTP.upgrade(port: member.port, path: "/api/v2/buildinfo", headers: [])
            #expect(buildInfo.status == 200, "\(buildInfo.body)")
            #expect(try buildInfo.json["version"] != nil)
            #expect(buildInfo.headers["connection"] == "close")
            // …and one to no route at all gets the router's 404.
            let nowhere = try await RawHTTP.upgrade(port: member.port, path: "/api/v2/nowhere", headers: [])
            #expect(nowhere.status == 404, "\(nowhere.body)")
            #expect(try nowhere.message == "Route not found.")

            // A plain request to a WebSocket-only path: 426 with the version to use.
            let plain = try RawConnection(port: member.port)
            plain.send("GET \(serve) HTTP/1.1\r\nHost: x\r\nCoder-Session-Token: \(cluster.token)\r\n\r\n")
            let upgradeRequired = try #require(await plain.readResponse(timeout: 20))
            #expect(upgradeRequired.status == 426, "\(upgradeRequired.body)")
            #expect(upgradeRequired.headers["sec-websocket-version"] == "13")

            // An upgrade asked on a reused keep-alive connection (NIO upgrades only a first request):
            // sent to a fresh connection.
            let reused = try RawConnection(port: member.port)
            reused.send("GET /api/v2/buildinfo HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await reused.readResponse(timeout: 20)?.status == 200)
            reused.send("GET \(serve) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            let redirect = try #require(await reused.readResponse(timeout: 20))
            #expect(redirect.status == 307, "\(redirect.body)")
            #expect(redirect.headers["location"] == serve)

            // The logs path serves both: a JSON page to a plain request, a stream to an upgrade.
            let build = UUID()
            let page = try RawConnection(port: member.port)
            page.send("GET /api/v2/workspacebuilds/\(build)/logs HTTP/1.1\r\nHost: x\r\nCoder-Session-Token: \(cluster.token)\r\n\r\n")
            #expect(await page.readResponse(timeout: 20)?.status == 404)
            let stream = try await RawHTTP.upgrade(port: member.port, path: "/api/v2/workspacebuilds/\(build)/logs?follow=true", headers: [("Coder-Session-Token", cluster.token)])
            #expect(stream.status == 404, "\(stream.body)")
            let unauthenticated = try await RawHTTP.upgrade(port: member.port, path: "/api/v2/workspacebuilds/\(build)/logs?follow=true", headers: [])
            #expect(unauthenticated.status == 401, "\(unauthenticated.body)")
        }
    }
}

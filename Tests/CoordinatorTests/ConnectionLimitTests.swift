import Foundation
import TestSupport
import Testing

/// Header-read and idle timeouts, the connection cap and the cap per client address, against a
/// real server process over raw sockets: each test reads what the server logged or how it exited,
/// and what is counted are the server's own sockets.
@Suite(.serialized) struct ConnectionLimitTests {
    static let psk = "psk-\(UUID().uuidString.prefix(8))"
    /// Starts a server and waits until it answers, over connections it closes itself (a pooled
    /// client connection would hold one of the few slots the cap test counts).
    func startServer(_ extra: [String]) async throws -> (CoordinatorProcess, Int) {
        let db = try await TestDatabase.createMigrated()
        let port = try freePort()
        let server = try CoordinatorProcess(["server", "--postgres-url", db.url, "--http-address", "127.0.0.1:\(port)", "--log-level", "notice"] + extra)
        try await eventually("server up", timeout: .seconds(60)) {
            let connection = try RawConnection(port: port)
            connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return await connection.readResponse(timeout: 5)?.status == 200
        }
        return (server, port)
    }

    @Test func halfSentRequestsAndIdleConnectionsAreClosedByTheServer() async throws {
        let (server, port) = try await startServer(["--http-header-timeout", "1s", "--http-idle-timeout", "1s", "--provisioner-daemon-psk", Self.psk])
        // The first user makes the default organization the daemon route below needs.
        let first = try await HTTP.request(.POST, "http://127.0.0.1:\(port)/api/v2/users/first", json: [
            "email": "owner@example.com", "username": "owner", "password": "Sup3r-Secret-Passw0rd!",
        ])
        #expect(first.status == 201)
        let halfSent = try (0..<200).map { _ in try RawConnection(port: port) }
        for connection in halfSent { connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n") }
        // An upgrade the route would accept, announcing a body it never sends: NIO upgrades only
        // after the request's end, so only the header-read timeout ends it.
        let upgrade = try RawConnection(port: port)
        upgrade.send(
            "GET /api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo&name=slow HTTP/1.1\r\nHost: x\r\n"
                + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Coder-Provisioner-Daemon-PSK: \(Self.psk)\r\nContent-Length: 10\r\n\r\n"
        )
        let idle = try RawConnection(port: port)
        idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await idle.readResponse()?.status == 200)

        // Each wait is bounded generously; what is asserted is that the server closed, not when.
        for (index, connection) in halfSent.enumerated() {
            let (data, closed) = await connection.readUntilClosed(timeout: 60)
            #expect(closed, "half-sent connection \(index) still open")
            #expect(data.isEmpty)
        }
        #expect(await idle.readUntilClosed(timeout: 60).closed, "idle keep-alive connection still open")
        let upgraded = await upgrade.readUntilClosed(timeout: 60)
        #expect(upgraded.closed, "upgrade request without its body still open")
        #expect(upgraded.data.isEmpty, "\(upgraded.data)")
        // A complete request on a fresh connection is still served.
        let fresh = try RawConnection(port: port)
        fresh.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await fresh.readResponse()?.status == 200)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.log)")
    }

    @Test func theConnectionCapRefusesClearlyAndRecovers() async throws {
        let cap = 3
        let (server, port) = try await startServer(["--http-max-connections", "\(cap)"])
        // Fill the cap with keep-alive connections that each had a request answered. A probe the
        // server closed a moment ago may not have given back its slot yet: retry until served.
        var held: [RawConnection] = []
        for _ in 0..<cap {
            var connection: RawConnection?
            try await eventually("a slot", timeout: .seconds(30)) {
                let candidate = try RawConnection(port: port)
                candidate.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                guard await candidate.readResponse()?.status == 200 else { return false }
                connection = candidate
                return true
            }
            held.append(try #require(connection))
        }

        let refused = try RawConnection(port: port)
        refused.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let (text, closed) = await refused.readUntilClosed(timeout: 30)
        #expect(closed)
        let response = try #require(RawResponse(parsing: Array(text.utf8)), "\(text)")
        #expect(response.status == 503)
        #expect(response.headers["connection"] == "close")
        #expect(try response.message == "The server is at its connection limit. Try again later.")
        #expect(server.log.contains("connection limit reached"))

        // The held ones still work, and one closing frees a slot.
        held[0].send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await held[0].readResponse()?.status == 200)
        held[1].close()
        try await eventually("a slot again", timeout: .seconds(30)) {
            let connection = try RawConnection(port: port)
            connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return await connection.readResponse(timeout: 5)?.status == 200
        }
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.log)")
    }

    /// A keep-alive connection that had `request` answered 200, once a slot is free: a probe the
    /// server closed a moment ago may not have given its slot back yet.
    func heldConnection(port: Int, _ request: String) async throws -> RawConnection {
        var connection: RawConnection?
        try await eventually("a slot", timeout: .seconds(30)) {
            let candidate = try RawConnection(port: port)
            candidate.send(request)
            guard await candidate.readResponse()?.status == 200 else { return false }
            connection = candidate
            return true
        }
        return try #require(connection)
    }

    /// The refusal of a connection over its address's cap: 429 in Coder's envelope, then closed.
    func expectRefusedPerAddress(_ connection: RawConnection, _ request: String) async throws {
        connection.send(request)
        let (text, closed) = await connection.readUntilClosed(timeout: 30)
        #expect(closed)
        let response = try #require(RawResponse(parsing: Array(text.utf8)), "\(text)")
        #expect(response.status == 429)
        #expect(response.headers["connection"] == "close")
        #expect(response.headers["x-request-id"] != nil)
        #expect(try response.message == "Too many connections from your address. Try again later.")
    }

    /// The connection cap is per client address too. Connections are counted, not requests: a
    /// held keep-alive connection serves any number of requests.
    @Test func theCapPerAddressRefusesTheConnectionPastItAndRecovers() async throws {
        let cap = 3
        let (server, port) = try await startServer(["--max-connections-per-address", "\(cap)"])
        let request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        var held: [RawConnection] = []
        for _ in 0..<cap { held.append(try await heldConnection(port: port, request)) }
        // Many requests on one held connection are still one connection.
        for _ in 0..<5 {
            held[0].send(request)
            #expect(await held[0].readResponse()?.status == 200)
        }

        try await expectRefusedPerAddress(try RawConnection(port: port), request)
        #expect(server.log.contains("connection limit per address reached"))
        // An upgrade is refused the same way, before any authentication.
        let upgrade = try await RawHTTP.upgrade(port: port, path: "/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo", headers: [])
        #expect(upgrade.status == 429, "\(upgrade.body)")

        // The held ones still work, and one closing frees a slot.
        held[2].send(request)
        #expect(await held[2].readResponse()?.status == 200)
        held[1].close()
        _ = try await heldConnection(port: port, request)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.log)")
    }

    /// Behind a trusted proxy, each forwarded client is counted on its own, and the proxy itself
    /// (a request whose header names no client beyond the proxies) not at all.
    @Test func behindATrustedProxyTheCapCountsEachForwardedAddress() async throws {
        let cap = 3
        let (server, port) = try await startServer([
            "--max-connections-per-address", "\(cap)", "--proxy-trusted-origins", "127.0.0.1/32", "--proxy-trusted-headers", "X-Forwarded-For",
        ])
        func request(forwardedFor: String?) -> String {
            "GET /healthz HTTP/1.1\r\nHost: x\r\n" + (forwardedFor.map { "X-Forwarded-For: \($0)\r\n" } ?? "") + "\r\n"
        }
        var held: [RawConnection] = []
        for _ in 0..<cap { held.append(try await heldConnection(port: port, request(forwardedFor: "10.0.0.1"))) }
        try await expectRefusedPerAddress(try RawConnection(port: port), request(forwardedFor: "10.0.0.1"))
        // The nearest untrusted hop is the client: a chain through our proxy is 10.0.0.1's too.
        try await expectRefusedPerAddress(try RawConnection(port: port), request(forwardedFor: "10.0.0.1, 127.0.0.1"))
        // Another forwarded client has slots of its own.
        for _ in 0..<cap { held.append(try await heldConnection(port: port, request(forwardedFor: "10.0.0.2"))) }
        try await expectRefusedPerAddress(try RawConnection(port: port), request(forwardedFor: "10.0.0.2"))
        // The proxy's own connections (no forwarded client, or only proxies in the chain) are not counted.
        for _ in 0..<(cap + 2) { held.append(try await heldConnection(port: port, request(forwardedFor: nil))) }
        for _ in 0..<(cap + 2) { held.append(try await heldConnection(port: port, request(forwardedFor: "127.0.0.1"))) }

        // One of 10.0.0.1's closing gives it a slot back.
        held[0].close()
        _ = try await heldConnection(port: port, request(forwardedFor: "10.0.0.1"))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.log)")
    }
}

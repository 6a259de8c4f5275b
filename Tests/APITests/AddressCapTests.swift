import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport
import Testing
import WebSocket
@testable import API

/// The cap per client address (issue 20, finding 11): its buckets, and a WebSocket holding its
/// slot for as long as it is open, its traffic untouched by the handler that counted it.
@Suite struct AddressCapTests {
    @Test func anIPv6ClientCountsByItsSlash64AndAMappedIPv4ClientAsIPv4() {
        #expect(ConnectionGate.addressKey("10.0.0.1") == [10, 0, 0, 1])
        #expect(ConnectionGate.addressKey("::ffff:10.0.0.1") == ConnectionGate.addressKey("10.0.0.1"))
        #expect(ConnectionGate.addressKey("2001:db8::1") == ConnectionGate.addressKey("2001:db8::ffff:1"))
        #expect(ConnectionGate.addressKey("2001:db8::1") != ConnectionGate.addressKey("2001:db8:0:1::1"))
        #expect(ConnectionGate.addressKey("::1")?.count == 8)
        #expect(ConnectionGate.addressKey("not an address") == nil)
        #expect(ConnectionGate.addressKey("") == nil)
    }

    /// Serves `router` on a loopback port behind the upgrade channel, with three connections
    /// allowed per address (the live test client holds one keep-alive connection of its own from
    /// the start), and runs `body` with the port and the gate that counts them.
    static func serve(_ router: Router<AppRequestContext>, _ body: @escaping @Sendable (Int, ConnectionGate) async throws -> Void) async throws {
        let upgrades = router.buildResponder()
        let limits = ConnectionLimits(maximumConnections: 100, maximumConnectionsPerAddress: 3)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let gate = ConnectionGate(limit: limits.maximumConnections, perAddressLimit: limits.maximumConnectionsPerAddress, logger: logger)
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in UpgradeChannel(responder: responder, router: upgrades, limits: limits, gate: gate) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger
        )
        try await app.test(.live) { client in
            try await body(try #require(client.port), gate)
        }
    }

    static let upgradeRequest = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

    @Test func aWebSocketHoldsItsAddressesSlotUntilItCloses() async throws {
        let router = Router(context: AppRequestContext.self)
        router.webSocket("echo") { _, _ in
            WebSocketAcceptance(configuration: WebSocketConfiguration()) { connection in
                _ = try? await connection.run { inbound, outbound in
                    for try await message in inbound { try await outbound.send(message) }
                }
            }
        }
        try await Self.serve(router) { port, gate in
            // The test client's own connection holds a slot from its accept: wait for it.
            try await eventually("the test client's connection counted", timeout: .seconds(30)) { gate.openConnections(address: "127.0.0.1") == 1 }
            let first = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/echo")
            let second = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/echo")
            #expect(gate.openConnections(address: "127.0.0.1") == 3)

            // The third connection of the address is answered 429 at its head, and closed.
            let refused = try RawConnection(port: port)
            refused.send(Self.upgradeRequest)
            let (text, closed) = await refused.readUntilClosed(timeout: 30)
            #expect(closed)
            let response = try #require(RawResponse(parsing: Array(text.utf8)), "\(text)")
            #expect(response.status == 429)
            #expect(try response.message == AddressCapHandler.error.message)

            // The counted WebSockets carry their traffic as before (the handler left their pipelines).
            for socket in [first, second] {
                try await socket.run { inbound, outbound in
                    var messages = inbound.makeAsyncIterator()
                    try await outbound.send(text: "still here")
                    #expect(try await messages.next() == .text("still here"))
                    try await outbound.close(code: .normalClosure)
                }
            }
            // Closed, they give their slots back.
            try await eventually("the slots given back", timeout: .seconds(30)) { gate.openConnections(address: "127.0.0.1") == 1 }
            let again = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/echo")
            try await again.run { _, outbound in try await outbound.close(code: .normalClosure) }
        }
    }

    /// Connections that never send a request head count for their address from the moment they
    /// are accepted: one host's silent connections cannot fill the global cap for everyone.
    @Test func silentConnectionsCountForTheirAddressFromAccept() async throws {
        let router = Router(context: AppRequestContext.self)
        router.get("ok") { _, _ in "ok" }
        try await Self.serve(router) { port, gate in
            try await eventually("the test client's connection counted", timeout: .seconds(30)) { gate.openConnections(address: "127.0.0.1") == 1 }
            // Two connections that send nothing at all hold the address's other two slots…
            let silent = try (0..<2).map { _ in try RawConnection(port: port) }
            try await eventually("both silent connections counted") { gate.openConnections(address: "127.0.0.1") == 3 }
            // …so a third is answered 429 before it sends a byte, and closed.
            let refused = try RawConnection(port: port)
            let (text, closed) = await refused.readUntilClosed(timeout: 30)
            #expect(closed)
            let response = try #require(RawResponse(parsing: Array(text.utf8)), "\(text)")
            #expect(response.status == 429)
            #expect(try response.message == AddressCapHandler.error.message)
            // Closed, the silent ones give their slots back, and a request is served again.
            for connection in silent { connection.close() }
            try await eventually("the slots given back", timeout: .seconds(30)) { gate.openConnections(address: "127.0.0.1") == 1 }
            let served = try RawConnection(port: port)
            served.send("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let (answer, _) = await served.readUntilClosed(timeout: 30)
            #expect(RawResponse(parsing: Array(answer.utf8))?.status == 200, "\(answer)")
        }
    }
}

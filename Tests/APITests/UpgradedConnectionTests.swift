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

/// The HTTP timeouts stop at the upgrade: a WebSocket has its own ping and timeout.
@Suite struct UpgradedConnectionTests {
    @Test func aWebSocketOutlivesTheHeaderAndIdleTimeouts() async throws {
        let router = Router(context: AppRequestContext.self)
        router.webSocket("echo") { _, _ in
            WebSocketAcceptance(configuration: WebSocketConfiguration()) { connection in
                _ = try? await connection.run { inbound, outbound in
                    for try await message in inbound { try await outbound.send(message) }
                }
            }
        }
        let upgrades = router.buildResponder()
        let limits = ConnectionLimits(headerReadTimeout: .seconds(1), idleTimeout: .seconds(1), maximumConnections: 100)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let gate = ConnectionGate(limit: limits.maximumConnections, logger: logger)
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in UpgradeChannel(responder: responder, router: upgrades, limits: limits, gate: gate) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger
        )
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // On a loaded machine the handshake itself can outlast the 1 s header-read timeout
            // (it bounds the upgrade too): try until one gets through.
            var connected: WebSocketConnection?
            try await eventually("a WebSocket", timeout: .seconds(60)) {
                connected = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/echo")
                return true
            }
            let socket = try #require(connected)
            try await socket.run { inbound, outbound in
                var messages = inbound.makeAsyncIterator()
                try await outbound.send(text: "before")
                #expect(try await messages.next() == .text("before"))
                // Opened after the WebSocket; once the server has cut it, both timeouts have
                // passed for the WebSocket too.
                let halfSent = try RawConnection(port: port)
                halfSent.send("GET /echo HTTP/1.1\r\nHost: x\r\n")
                #expect(await halfSent.readUntilClosed(timeout: 60).closed)
                try await outbound.send(text: "after")
                #expect(try await messages.next() == .text("after"))
            }
        }
    }
}

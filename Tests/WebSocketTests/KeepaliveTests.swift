import NIOCore
import NIOEmbedded
import Testing
@testable import WebSocket

/// The keepalive on embedded channels whose event loop the test moves by hand: the rule is about
/// time, so the loop's clock is advanced, never waited for.
@Suite struct KeepaliveTests {
    static let configuration = WebSocketConfiguration(pingInterval: .seconds(15), pingTimeout: .seconds(30))
    static let ping: [UInt8] = [0x89, 0x00]

    /// One end of a connection on `loop`, and how that end saw the connection end.
    private func makeEnd(
        _ role: WebSocketRole, configuration: WebSocketConfiguration = KeepaliveTests.configuration, loop: EmbeddedEventLoop
    ) throws -> (channel: EmbeddedChannel, closed: EventLoopFuture<WebSocketCloseStatus>) {
        let channel = EmbeddedChannel(loop: loop)
        let closed = loop.makePromise(of: WebSocketCloseStatus.self)
        let handler = WebSocketChannelHandler(role: role, configuration: configuration, closedPromise: closed, budget: WebSocketSendBudget())
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, closed.futureResult)
    }

    private func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.bytes
        }
        return bytes
    }

    /// Carries bytes both ways until neither end has more to say.
    private func deliver(between a: EmbeddedChannel, _ b: EmbeddedChannel) throws {
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(a, b), (b, a)] {
                while let buffer = try from.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    if to.isActive { try to.writeInbound(buffer) }
                }
            }
        }
    }

    @Test func aSilentPeerIsClosedWith1011ThePingTimeoutAfterTheFirstUnansweredPing() throws {
        let loop = EmbeddedEventLoop()
        let (server, closed) = try makeEnd(.server, loop: loop)
        loop.advanceTime(by: .seconds(15) - .nanoseconds(1))
        #expect(try written(server).isEmpty)
        loop.advanceTime(by: .nanoseconds(1))
        #expect(try written(server) == Self.ping)
        // Pings go on every interval; the deadline stays that of the first unanswered one.
        loop.advanceTime(by: .seconds(30) - .nanoseconds(1))
        #expect(try written(server) == Self.ping)
        #expect(server.isActive)
        loop.advanceTime(by: .nanoseconds(1))
        #expect(try written(server) == serverClose(1011, "keepalive ping timeout"))
        #expect(!server.isActive)
        #expect(try closed.wait() == WebSocketCloseStatus(code: .internalError, reason: "keepalive ping timeout"))
    }

    @Test func anyBytesFromThePeerCancelTheDeadline() throws {
        let loop = EmbeddedEventLoop()
        let (server, _) = try makeEnd(.server, loop: loop)
        loop.advanceTime(by: .seconds(15))
        #expect(try written(server) == Self.ping)
        // Not a pong: a data message shows the peer is alive just as well.
        loop.advanceTime(by: .seconds(29))
        try server.writeInbound(ByteBuffer(bytes: clientFrame(opcode: 0x1, "here")))
        #expect(try server.readInbound(as: WebSocketInboundElement.self).map { if case .message(.text("here")) = $0 { true } else { false } } == true)
        // Past the first ping's deadline (45 s): the next ping, at 45 s, has a deadline of its own, at 75 s.
        loop.advanceTime(by: .seconds(31) - .nanoseconds(1))
        #expect(server.isActive)
        loop.advanceTime(by: .nanoseconds(1))
        #expect(!server.isActive)
    }

    @Test func withoutAnIntervalNoPingIsSent() throws {
        let loop = EmbeddedEventLoop()
        let (server, _) = try makeEnd(.server, configuration: WebSocketConfiguration(pingInterval: nil, pingTimeout: .seconds(1)), loop: loop)
        loop.advanceTime(by: .hours(24))
        #expect(try written(server).isEmpty)
        #expect(server.isActive)
    }

    /// A client that sends no pings of its own: only its automatic pongs reach the server.
    @Test func anAnsweringPeerSurvivesTheKeepalive() throws {
        let loop = EmbeddedEventLoop()
        let (server, _) = try makeEnd(.server, loop: loop)
        let (client, _) = try makeEnd(.client, configuration: WebSocketConfiguration(pingInterval: nil), loop: loop)
        // Twenty ping intervals and far more than the ping timeout with no application traffic.
        for _ in 0..<20 {
            loop.advanceTime(by: .seconds(15))
            try deliver(between: server, client)
        }
        #expect(server.isActive && client.isActive)
        client.write(WebSocketOutboundFrame.message(.text("still here")), promise: nil)
        loop.run()
        try deliver(between: server, client)
        let received = try server.readInbound(as: WebSocketInboundElement.self)
        #expect(received.map { if case .message(.text("still here")) = $0 { true } else { false } } == true)
        _ = try? server.finish()
        _ = try? client.finish()
    }
}

import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
import TestSupport
@testable import WebSocket

@Suite(.serialized) struct LoopbackTests {
    @Test func echoesTextBinaryAndLargeMessages() async throws {
        let server = try await TestServer(configuration: .init(maxMessageSize: 8 << 20), handler: TestServer.echo)
        let big = ByteBuffer(bytes: (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let replies = try await withTimeout {
            let client = try await WebSocketClient.connect(to: server.url, configuration: .init(maxMessageSize: 8 << 20))
            return try await client.run { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                var replies: [WebSocketMessage] = []
                for message: WebSocketMessage in [.text("héllo"), .binary(ByteBuffer(bytes: [0, 1, 2])), .binary(big), .text("")] {
                    try await outbound.send(message)
                    replies.append(try await iterator.next()!)
                }
                return replies
            }
        }
        #expect(replies == [.text("héllo"), .binary(ByteBuffer(bytes: [0, 1, 2])), .binary(big), .text("")])
        // The client's `run` ended with a normal close, which the server saw.
        #expect(try await server.waitForStatuses(1) == [WebSocketCloseStatus(code: .normalClosure)])
        try await server.stop()
    }

    @Test func framesRightAfterThe101ReachTheClient() async throws {
        // The server speaks first; its ping and message may share a packet with the 101.
        let server = try await TestServer { connection in
            try await connection.run { inbound, outbound in
                try await outbound.ping(ByteBuffer(string: "hi"))
                try await outbound.send(text: "first")
                for try await message in inbound {
                    try await outbound.send(message)
                }
            }
        }
        let replies = try await withTimeout {
            let client = try await WebSocketClient.connect(to: server.url)
            return try await client.run { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                let first = try await iterator.next()
                try await outbound.send(text: "second")
                return [first, try await iterator.next()]
            }
        }
        #expect(replies == [.text("first"), .text("second")])
        try await server.stop()
    }

    @Test func fragmentedSendIsReassembled() async throws {
        let server = try await TestServer(handler: TestServer.echo)
        let reply = try await withTimeout {
            let client = try await WebSocketClient.connect(to: server.url)
            return try await client.run { inbound, outbound in
                try await outbound.sendFragment(opcode: .text, payload: ByteBuffer(string: "frag"), fin: false)
                try await outbound.ping(ByteBuffer(string: "between"))
                try await outbound.sendFragment(opcode: .continuation, payload: ByteBuffer(string: "mented"), fin: true)
                var iterator = inbound.makeAsyncIterator()
                return try await iterator.next()
            }
        }
        #expect(reply == .text("fragmented"))
        try await server.stop()
    }

    @Test func serverCloseReachesTheClientWithItsCode() async throws {
        let server = try await TestServer { connection in
            try await connection.run { _, outbound in
                try await outbound.close(code: WebSocketCloseCode(4000), reason: "bye")
            }
        }
        let (messages, status) = try await withTimeout {
            let client = try await WebSocketClient.connect(to: server.url)
            let messages = try await client.run { inbound, _ in
                var count = 0
                for try await _ in inbound { count += 1 }
                return count
            }
            return (messages, await client.closeStatus)
        }
        #expect(messages == 0)
        #expect(status == WebSocketCloseStatus(code: WebSocketCloseCode(4000), reason: "bye"))
        // The server saw its close answered with the same code.
        #expect(try await server.waitForStatuses(1) == [WebSocketCloseStatus(code: WebSocketCloseCode(4000))])
        try await server.stop()
    }

    @Test func sendingAfterOurCloseThrows() async throws {
        let server = try await TestServer(handler: TestServer.echo)
        let outcome = try await withTimeout {
            let client = try await WebSocketClient.connect(to: server.url)
            return try await client.run { _, outbound in
                try await outbound.close(code: .normalClosure, reason: "done")
                do {
                    try await outbound.send(text: "too late")
                    return "sent"
                } catch let error as WebSocketSendError {
                    return "\(error)"
                }
            }
        }
        #expect(outcome == "closed")
        try await server.stop()
    }

    @Test func quiesceSendsGoingAway() async throws {
        let server = try await TestServer { connection in
            try await connection.run { inbound, _ in
                connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                for try await _ in inbound {}
            }
        }
        let status = try await withTimeout {
            let client = try await WebSocketClient.connect(to: server.url)
            try await client.run { inbound, _ in
                for try await _ in inbound {}
            }
            return await client.closeStatus
        }
        #expect(status.code == .goingAway)
        try await server.stop()
    }

    @Test func silentPeerIsClosedByTheKeepalive() async throws {
        let configuration = WebSocketConfiguration(pingInterval: .milliseconds(50), pingTimeout: .milliseconds(100))
        let server = try await TestServer(configuration: configuration, handler: TestServer.echo)
        // Handshake, then never read or write again.
        let raw = try await RawClient.connect(port: server.port)
        let statuses = try await raw.channel.executeThenClose { _, outbound in
            try await outbound.write(ByteBuffer(string: RawClient.upgradeRequest()))
            return try await server.waitForStatuses(1)
        }
        #expect(statuses.first?.code == .internalError)
        try await server.stop()
    }

    @Test func halfClosedPeerIsClosed() async throws {
        let server = try await TestServer(handler: TestServer.echo)
        let raw = try await RawClient.connect(port: server.port)
        let statuses = try await raw.channel.executeThenClose { _, outbound in
            try await outbound.write(ByteBuffer(string: RawClient.upgradeRequest()))
            outbound.finish()
            return try await server.waitForStatuses(1)
        }
        #expect(statuses.first?.code == .abnormalClosure)
        try await server.stop()
    }

    @Test func protocolErrorClosesWith1002() async throws {
        let server = try await TestServer(handler: TestServer.echo)
        let raw = try await RawClient.connect(port: server.port)
        let received = try await withTimeout {
            try await raw.channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: RawClient.upgradeRequest()))
                // An unmasked client frame.
                try await outbound.write(ByteBuffer(bytes: [0x81, 0x02, 0x68, 0x69]))
                var all: [UInt8] = []
                for try await chunk in inbound { all += chunk.bytes }
                return all
            }
        }
        let text = String(decoding: received, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(text.lowercased().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"))
        let frame = Array(received.suffix(from: received.count - 4 - "client frame is not masked".utf8.count))
        #expect(frame.prefix(4) == [0x88, UInt8(2 + "client frame is not masked".utf8.count), 0x03, 0xEA])
        #expect(try await server.waitForStatuses(1).first?.code == .protocolError)
        try await server.stop()
    }

    @Test func refusedHandshakeGetsAnHTTPError() async throws {
        let server = try await TestServer(handler: TestServer.echo)
        let raw = try await RawClient.connect(port: server.port)
        let response = try await withTimeout {
            try await raw.channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: RawClient.upgradeRequest(version: "8")))
                var all: [UInt8] = []
                for try await chunk in inbound { all += chunk.bytes }
                return String(decoding: all, as: UTF8.self)
            }
        }
        #expect(response.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
        #expect(response.lowercased().contains("sec-websocket-version: 13\r\n"))
        try await server.stop()
    }

    @Test func clientReportsTheStatusOfARefusal() async throws {
        let server = try await TestServer(subprotocols: ["only"], handler: TestServer.echo)
        await #expect(throws: WebSocketClientHandshake.Failure.unexpectedStatus(.upgradeRequired)) {
            _ = try await WebSocketClient.connect(to: server.url, headers: ["Sec-WebSocket-Version": "8"])
        }
        let client = try await WebSocketClient.connect(to: server.url, subprotocols: ["other", "only"])
        #expect(client.subprotocol == "only")
        try await client.run { _, _ in }
        try await server.stop()
    }

    @Test func slowConsumerMakesTheSenderWait() async throws {
        // The consumer reads nothing until the sender is held back (or, were nothing holding it
        // back, has sent everything), then notes how far ahead of it the sender ever got.
        let (released, release) = AsyncStream<Void>.makeStream()
        let sent = Atomic<Int>(0)
        let lead = Atomic<Int>(0)
        let server = try await TestServer { connection in
            try await connection.run { inbound, _ in
                for await _ in released {}
                var received = 0
                for try await _ in inbound {
                    received += 1
                    lead.max(sent.load(ordering: .relaxed) - received, ordering: .relaxed)
                }
            }
        }
        let client = try await WebSocketClient.connect(to: server.url)
        // Writable again only once nothing at all is pending: with NIO's default marks a write the
        // kernel took all but a few KiB of reads as writable while it (and the sender) still waits.
        try await client.channel.setOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 1, high: 2))
        let sender = Task {
            try await client.run { _, outbound in
                let chunk = ByteBuffer(bytes: Array(repeating: 0x5A, count: 1 << 20))
                for _ in 0..<100 {
                    try await outbound.send(binary: chunk)
                    sent.add(1, ordering: .relaxed)
                }
            }
        }
        // Each 1 MiB send is over the budget and waits for its own write: once the socket stops
        // taking bytes the channel turns unwritable, and that write (and the sender) waits.
        try await eventually("the sender held back or done", timeout: .seconds(60)) {
            sent.load(ordering: .relaxed) == 100 || !client.channel.isWritable
        }
        let stalled = sent.load(ordering: .relaxed)
        release.finish()
        try await withTimeout(.seconds(30)) { try await sender.value }
        #expect(sent.load(ordering: .relaxed) == 100)
        // 100 MiB cannot fit in socket buffers and a few buffered messages.
        #expect(stalled < 60)
        #expect(lead.load(ordering: .relaxed) < 60)
        try await server.stop()
    }
}

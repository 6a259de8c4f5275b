import NIOCore
import NIOEmbedded
import Testing
@testable import WebSocket

/// The channel handler on an embedded channel: what reaches the transport, and when.
@Suite struct ChannelHandlerTests {
    private func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let handler = WebSocketChannelHandler(
            role: .server,
            configuration: WebSocketConfiguration(pingInterval: nil),
            closedPromise: channel.eventLoop.makePromise(),
            budget: WebSocketSendBudget()
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    @Test func framesWrittenTogetherGoOutAsOneBufferAtTheFlush() throws {
        let channel = try makeChannel()
        let written = (0..<5).map { channel.write(WebSocketOutboundFrame.message(.text("m\($0)"))) }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.flush()
        let wire = try channel.readOutbound(as: ByteBuffer.self)
        #expect(wire?.bytes == (0..<5).flatMap { [0x81, 0x02, 0x6D, 0x30 + UInt8($0)] })
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        for future in written {
            try future.wait()
        }
        _ = try? channel.finish()
    }

    @Test func framesNeverFlushedFailWhenTheChannelCloses() throws {
        let channel = try makeChannel()
        let written = channel.write(WebSocketOutboundFrame.message(.text("late")))
        try channel.close().wait()
        #expect(throws: ChannelError.ioOnClosedChannel) { try written.wait() }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }
}

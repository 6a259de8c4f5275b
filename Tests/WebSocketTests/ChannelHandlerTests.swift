import NIOCore
import NIOEmbedded
import Testing
@testable import WebSocket

/// The channel handler on an embedded channel: what reaches the transport, when, and in what
/// order, and what becomes of each frame's promise.
@Suite struct ChannelHandlerTests {
    private func makeChannel(below: (any ChannelHandler)? = nil, budget: WebSocketSendBudget = WebSocketSendBudget()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        if let below {
            try channel.pipeline.syncOperations.addHandler(below)
        }
        let handler = WebSocketChannelHandler(
            role: .server,
            configuration: WebSocketConfiguration(pingInterval: nil),
            closedPromise: channel.eventLoop.makePromise(),
            budget: budget
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    private func written(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var buffers: [[UInt8]] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            buffers.append(buffer.bytes)
        }
        return buffers
    }

    @Test func framesWrittenTogetherGoOutAsOneBufferAtTheFlush() throws {
        let channel = try makeChannel()
        let futures = (0..<5).map { channel.write(WebSocketOutboundFrame.message(.text("m\($0)"))) }
        #expect(try written(channel).isEmpty)
        channel.flush()
        #expect(try written(channel) == [(0..<5).flatMap { [0x81, 0x02, 0x6D, 0x30 + UInt8($0)] }])
        for future in futures {
            try future.wait()
        }
        _ = try? channel.finish()
    }

    @Test func framesWrittenWithoutAFlushGoOutTogetherAtTheEndOfTheTick() throws {
        let channel = try makeChannel()
        let futures = (0..<3).map { channel.write(WebSocketOutboundFrame.message(.text("m\($0)"))) }
        #expect(try written(channel).isEmpty)
        channel.embeddedEventLoop.run()
        #expect(try written(channel) == [(0..<3).flatMap { [0x81, 0x02, 0x6D, 0x30 + UInt8($0)] }])
        for future in futures {
            try future.wait()
        }
        _ = try? channel.finish()
    }

    @Test func completionsArriveInWriteOrder() throws {
        let channel = try makeChannel()
        var order: [Int] = []
        for index in 0..<3 {
            channel.write(WebSocketOutboundFrame.message(.text("\(index)"))).whenComplete { _ in order.append(index) }
        }
        channel.flush()
        #expect(order == [0, 1, 2])
        _ = try? channel.finish()
    }

    @Test func anIncomingPingFlushesEarlierFramesBeforeThePong() throws {
        let channel = try makeChannel()
        let data = channel.write(WebSocketOutboundFrame.message(.text("a")))
        try channel.writeInbound(ByteBuffer(bytes: clientFrame(opcode: 0x9, "p")))
        #expect(try written(channel).flatMap { $0 } == [0x81, 0x01, 0x61, 0x8A, 0x01, 0x70])
        try data.wait()
        _ = try? channel.finish()
    }

    @Test func theCloseReplyFollowsDataWrittenBeforeIt() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: clientFrame(opcode: 0x8, closePayload(1000))))
        let data = channel.write(WebSocketOutboundFrame.message(.text("x")))
        channel.pipeline.triggerUserOutboundEvent(WebSocketReplyToClose(), promise: nil)
        channel.embeddedEventLoop.run()
        #expect(try written(channel).flatMap { $0 } == [0x81, 0x01, 0x78, 0x88, 0x02, 0x03, 0xE8])
        try data.wait()
        #expect(!channel.isActive)
    }

    @Test func theBudgetIsGivenBackWhenFramesAreWrittenOrDropped() throws {
        let budget = WebSocketSendBudget()
        let channel = try makeChannel(budget: budget)
        let frame = WebSocketOutboundFrame.message(.text("hello"))
        let cost = WebSocketSendBudget.cost(of: frame)
        // The sender counts a frame before handing it over, as `WebSocketOutbound` does.
        budget.unwritten.add(2 * cost, ordering: .relaxed)
        channel.write(frame, promise: nil)
        channel.write(frame, promise: nil)
        #expect(budget.unwritten.load(ordering: .relaxed) == 2 * cost)
        // No explicit flush, as with a real sender: the end-of-tick flush writes them.
        channel.embeddedEventLoop.run()
        #expect(budget.unwritten.load(ordering: .relaxed) == 0)
        budget.unwritten.add(cost, ordering: .relaxed)
        channel.write(frame, promise: nil)
        try channel.close().wait()
        #expect(budget.unwritten.load(ordering: .relaxed) == 0)
    }

    @Test func framesNeverFlushedFailWhenTheChannelCloses() throws {
        let channel = try makeChannel()
        let late = channel.write(WebSocketOutboundFrame.message(.text("late")))
        try channel.close().wait()
        #expect(throws: ChannelError.ioOnClosedChannel) { try late.wait() }
        // The flush scheduled for the end of the tick finds the channel gone and writes nothing.
        channel.embeddedEventLoop.run()
        #expect(try written(channel).isEmpty)
    }

    @Test func aFrameWrittenAfterTheChannelWentInactiveFailsAtOnce() throws {
        let channel = try makeChannel()
        channel.pipeline.fireChannelInactive()
        let late = channel.write(WebSocketOutboundFrame.message(.text("late")))
        #expect(throws: ChannelError.ioOnClosedChannel) { try late.wait() }
        channel.embeddedEventLoop.run()
        #expect(try written(channel).isEmpty)
    }

    /// Our close frame is flushed but not yet on the wire when the peer's close arrives: the
    /// connection must close behind it, not before it.
    @Test func theConnectionClosesOnlyAfterEarlierWritesAreOut() throws {
        let hold = HoldWrites()
        let channel = try makeChannel(below: hold)
        let ourClose = channel.write(WebSocketOutboundFrame.close(code: .normalClosure, reason: ""))
        channel.flush()
        #expect(hold.held.count == 1)
        try channel.writeInbound(ByteBuffer(bytes: clientFrame(opcode: 0x8, closePayload(1000))))
        channel.embeddedEventLoop.run()
        #expect(channel.isActive, "closed with our close frame still unwritten")
        hold.release()
        channel.embeddedEventLoop.run()
        try ourClose.wait()
        #expect(!channel.isActive)
        #expect(try written(channel).flatMap { $0 } == [0x88, 0x02, 0x03, 0xE8])
    }

    /// A write that fails at once runs its completions inside the flush; one that sends again
    /// must find the handler ready for it, not in the middle of draining.
    @Test func sendingFromTheCompletionOfAFailedWriteIsSafe() throws {
        let refuse = RefuseWrites()
        let channel = try makeChannel(below: refuse)
        let second = channel.eventLoop.makePromise(of: Void.self)
        channel.write(WebSocketOutboundFrame.message(.text("a"))).whenFailure { _ in
            channel.write(WebSocketOutboundFrame.message(.text("b")), promise: second)
        }
        channel.embeddedEventLoop.run()
        #expect(throws: ChannelError.ioOnClosedChannel) { try second.futureResult.wait() }
        #expect(refuse.refused == 2)
    }
}

/// Holds every write (and ignores flushes) until released, as a socket with a full send buffer.
private final class HoldWrites: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var held: [(NIOAny, EventLoopPromise<Void>?)] = []
    var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        held.append((data, promise))
    }

    func flush(context: ChannelHandlerContext) {}

    func release() {
        guard let context else { return }
        let writes = held
        held = []
        for (data, promise) in writes {
            context.write(data, promise: promise)
        }
        context.flush()
    }
}

/// Fails every write at once, as a closed transport does.
private final class RefuseWrites: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var refused = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        refused += 1
        promise?.fail(ChannelError.ioOnClosedChannel)
    }
}

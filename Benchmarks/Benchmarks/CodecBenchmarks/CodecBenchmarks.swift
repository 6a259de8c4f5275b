import Benchmark
import NIOCore
import NIOEmbedded
import NIOWebSocket
import WebSocket

/// Decode+unmask and encode, ours against NIOWebSocket's codec on the same bytes, both driven
/// through an EmbeddedChannel so the harness overhead is the same; ours is also measured bare,
/// as the sans-I/O state machine.
///
/// Frames go in batches (256 × 16 B, 64 × 1 KiB, 16 × 64 KiB and 16 × 1 MiB per iteration, one
/// write per frame and one flush), so that the harness's fixed cost per iteration does not
/// drown the codec; divide the time by the batch size.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    let sizes: [(String, Int)] = [("16 B", 16), ("1 KiB", 1024), ("64 KiB", 65536), ("1 MiB", 1 << 20)]
    let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
    let configuration = WebSocketConfiguration(maxMessageSize: 4 << 20)

    for (name, size) in sizes {
        let payload = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        // One masked client frame, as a server receives it.
        var masked = ByteBuffer()
        var parts: [ByteBuffer] = []
        WebSocketFrameSerializer.serialize(opcode: .binary, payload: payload, maskingKey: WebSocket.WebSocketMaskingKey(key)!, into: &parts)
        for part in parts { masked.writeImmutableBuffer(part) }
        // Enough frames per iteration that the harness's fixed cost per sample does not
        // hide the codec's cost per frame.
        let batch = max(16, min(256, 65536 / size))
        var batched = ByteBuffer()
        for _ in 0..<batch { batched.writeImmutableBuffer(masked) }
        let frames = batched
        let label = "\(batch) × \(name)"

        Benchmark("decode+unmask \(label) / ours (sans-I/O)") { benchmark in
            var machine = WebSocketStateMachine(role: .server, configuration: configuration)
            for _ in benchmark.scaledIterations {
                machine.receive(frames)
                while let event = machine.nextEvent() { blackHole(event) }
            }
        }

        Benchmark("decode+unmask \(label) / ours (EmbeddedChannel)") { benchmark in
            let channel = EmbeddedChannel(handler: StateMachineDecoder(configuration: configuration))
            for _ in benchmark.scaledIterations {
                try channel.writeInbound(frames)
                while let message = try channel.readInbound(as: WebSocketMessage.self) { blackHole(message) }
            }
        }

        Benchmark("decode+unmask \(label) / NIOWebSocket (EmbeddedChannel)") { benchmark in
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 4 << 20)))
            for _ in benchmark.scaledIterations {
                try channel.writeInbound(frames)
                while let decoded = try channel.readInbound(as: WebSocketFrame.self) { blackHole(decoded.unmaskedData) }
            }
        }

        Benchmark("encode \(label) / ours (sans-I/O)") { benchmark in
            var machine = WebSocketStateMachine(role: .server, configuration: configuration)
            for _ in benchmark.scaledIterations {
                for _ in 0..<batch { try machine.send(.binary(payload)) }
                machine.drainOutput { buffer, _ in blackHole(buffer) }
            }
        }

        Benchmark("encode \(label) / ours (EmbeddedChannel)") { benchmark in
            let channel = EmbeddedChannel(handler: StateMachineEncoder(configuration: configuration))
            for _ in benchmark.scaledIterations {
                for _ in 0..<batch { channel.write(WebSocketMessage.binary(payload), promise: nil) }
                channel.flush()
                while let buffer = try channel.readOutbound(as: ByteBuffer.self) { blackHole(buffer) }
            }
        }

        Benchmark("encode \(label) / NIOWebSocket (EmbeddedChannel)") { benchmark in
            let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
            for _ in benchmark.scaledIterations {
                for _ in 0..<batch { channel.write(WebSocketFrame(fin: true, opcode: .binary, data: payload), promise: nil) }
                channel.flush()
                while let buffer = try channel.readOutbound(as: ByteBuffer.self) { blackHole(buffer) }
            }
        }

        // A client's frames are masked: the encoder has to touch every payload byte.
        Benchmark("encode+mask \(label) / ours (EmbeddedChannel)") { benchmark in
            let channel = EmbeddedChannel(handler: StateMachineEncoder(configuration: configuration, role: .client))
            for _ in benchmark.scaledIterations {
                for _ in 0..<batch { channel.write(WebSocketMessage.binary(payload), promise: nil) }
                channel.flush()
                while let buffer = try channel.readOutbound(as: ByteBuffer.self) { blackHole(buffer) }
            }
        }

        Benchmark("encode+mask \(label) / NIOWebSocket (EmbeddedChannel)") { benchmark in
            let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
            let maskKey = NIOWebSocket.WebSocketMaskingKey(key)!
            for _ in benchmark.scaledIterations {
                // NIO masks the frame's own buffer, so each frame needs its own copy of the
                // payload, as an application would hand it a fresh buffer.
                for _ in 0..<batch {
                    channel.write(WebSocketFrame(fin: true, opcode: .binary, maskKey: maskKey, data: payload), promise: nil)
                }
                channel.flush()
                while let buffer = try channel.readOutbound(as: ByteBuffer.self) { blackHole(buffer) }
            }
        }
    }
}

/// Our state machine as a plain decoder, for the same harness as NIO's.
final class StateMachineDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = WebSocketMessage
    var machine: WebSocketStateMachine

    init(configuration: WebSocketConfiguration) {
        machine = WebSocketStateMachine(role: .server, configuration: configuration)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        machine.receive(unwrapInboundIn(data))
        while let event = machine.nextEvent() {
            if case .message(let message) = event {
                context.fireChannelRead(wrapInboundOut(message))
            }
        }
    }
}

/// Our state machine as a plain encoder, for the same harness as NIO's. Like our channel
/// handler, it serializes at the flush: frames written together become bytes together.
final class StateMachineEncoder: ChannelOutboundHandler {
    typealias OutboundIn = WebSocketMessage
    typealias OutboundOut = ByteBuffer
    var machine: WebSocketStateMachine
    var unflushed: [EventLoopPromise<Void>] = []

    init(configuration: WebSocketConfiguration, role: WebSocketRole = .server) {
        machine = WebSocketStateMachine(role: role, configuration: configuration)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        do {
            try machine.send(unwrapOutboundIn(data))
        } catch {
            promise?.fail(error)
            return
        }
        if let promise { unflushed.append(promise) }
    }

    func flush(context: ChannelHandlerContext) {
        var written: EventLoopPromise<Void>?
        if !unflushed.isEmpty {
            let promises = unflushed
            unflushed.removeAll(keepingCapacity: true)
            written = context.eventLoop.makePromise()
            written!.futureResult.whenComplete { result in promises.forEach { $0.completeWith(result) } }
        }
        machine.drainOutput { buffer, isLast in
            context.write(wrapOutboundOut(buffer), promise: isLast ? written : nil)
        }
        context.flush()
    }
}

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        writeBytes(bytes)
    }
}

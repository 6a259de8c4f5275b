import Benchmark
import NIOCore
import NIOEmbedded
import NIOWebSocket
import WebSocket

/// Decode+unmask and encode, ours against NIOWebSocket's codec on the same bytes, both driven
/// through the same channel pipeline (an EmbeddedChannel whose other end is a sink handler), so
/// the harness overhead is the same; ours is also measured bare, as the sans-I/O state machine.
///
/// Only the steady state is measured: the channel or state machine is built and run once
/// before the measurement starts (see `measure`).
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
            try measure(benchmark) {
                machine.receive(frames)
                while let event = machine.nextEvent() { blackHole(event) }
            }
        }

        Benchmark("decode+unmask \(label) / ours (channel)") { benchmark in
            let channel = try sinkChannel(StateMachineDecoder(configuration: configuration), InboundSink<WebSocketMessage> { blackHole($0) })
            try measure(benchmark) {
                channel.pipeline.syncOperations.fireChannelRead(NIOAny(frames))
            }
        }

        Benchmark("decode+unmask \(label) / NIOWebSocket (channel)") { benchmark in
            let channel = try sinkChannel(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 4 << 20)),
                InboundSink<WebSocketFrame> { blackHole($0.unmaskedData) }
            )
            try measure(benchmark) {
                channel.pipeline.syncOperations.fireChannelRead(NIOAny(frames))
            }
        }

        Benchmark("encode \(label) / ours (sans-I/O)") { benchmark in
            var machine = WebSocketStateMachine(role: .server, configuration: configuration)
            try measure(benchmark) {
                for _ in 0..<batch { try machine.send(.binary(payload)) }
                machine.drainOutput { buffer, _ in blackHole(buffer) }
            }
        }

        Benchmark("encode \(label) / ours (channel)") { benchmark in
            let channel = try sinkChannel(OutboundSink(), StateMachineEncoder(configuration: configuration))
            try measure(benchmark) {
                for _ in 0..<batch { channel.write(WebSocketMessage.binary(payload), promise: nil) }
                channel.flush()
            }
        }

        Benchmark("encode \(label) / NIOWebSocket (channel)") { benchmark in
            let channel = try sinkChannel(OutboundSink(), WebSocketFrameEncoder())
            try measure(benchmark) {
                for _ in 0..<batch { channel.write(WebSocketFrame(fin: true, opcode: .binary, data: payload), promise: nil) }
                channel.flush()
            }
        }

        // The floor under both: two buffers handed down per frame (a header and the payload),
        // with no codec at all. Unmasked frames above the copy limit cost every codec that.
        Benchmark("encode \(label) / floor: two writes per frame, no codec (channel)") { benchmark in
            let channel = try sinkChannel(OutboundSink(), TwoWritesPerFrame())
            try measure(benchmark) {
                for _ in 0..<batch { channel.write(payload, promise: nil) }
                channel.flush()
            }
        }

        // A client's frames are masked: the encoder has to touch every payload byte.
        Benchmark("encode+mask \(label) / ours (channel)") { benchmark in
            let channel = try sinkChannel(OutboundSink(), StateMachineEncoder(configuration: configuration, role: .client))
            try measure(benchmark) {
                for _ in 0..<batch { channel.write(WebSocketMessage.binary(payload), promise: nil) }
                channel.flush()
            }
        }

        Benchmark("encode+mask \(label) / NIOWebSocket (channel)") { benchmark in
            let channel = try sinkChannel(OutboundSink(), WebSocketFrameEncoder())
            let maskKey = NIOWebSocket.WebSocketMaskingKey(key)!
            try measure(benchmark) {
                // NIO masks the frame's own buffer, so each frame needs its own copy of the
                // payload, as an application would hand it a fresh buffer.
                for _ in 0..<batch {
                    channel.write(WebSocketFrame(fin: true, opcode: .binary, maskKey: maskKey, data: payload), promise: nil)
                }
                channel.flush()
            }
        }
    }
}

/// Runs `body` once, unmeasured, so that buffers and arrays reach their working size, then
/// measures it over the benchmark's iterations.
func measure(_ benchmark: Benchmark, _ body: () throws -> Void) rethrows {
    try body()
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        try body()
    }
    benchmark.stopMeasurement()
}

/// An EmbeddedChannel with `handlers` in order from the transport's side, ending (or
/// starting) in a sink: EmbeddedChannel's own buffers take a lock per item in and out, which
/// would dwarf a codec that does little per frame.
func sinkChannel(_ handlers: any ChannelHandler...) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    for handler in handlers {
        try channel.pipeline.syncOperations.addHandler(handler)
    }
    return channel
}

/// Consumes what an encoder under test writes. Like a socket channel, it holds every write
/// until the flush and lets go of them then: an encoder that reuses a buffer it handed down
/// pays for it as it would on a real connection.
final class OutboundSink: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var pending: [(ByteBuffer, EventLoopPromise<Void>?)] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        pending.append((unwrapOutboundIn(data), promise))
    }

    func flush(context: ChannelHandlerContext) {
        for (buffer, promise) in pending {
            blackHole(buffer)
            promise?.succeed()
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// Consumes what a decoder under test reads.
final class InboundSink<Element>: ChannelInboundHandler {
    typealias InboundIn = Element
    let consume: (Element) -> Void

    init(_ consume: @escaping (Element) -> Void) {
        self.consume = consume
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        consume(unwrapInboundIn(data))
    }
}

/// Not a codec: a fixed two-byte header and the payload, per frame.
final class TwoWritesPerFrame: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let header = ByteBuffer(bytes: [0x82, 0x7F])

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(header), promise: nil)
        context.write(data, promise: promise)
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

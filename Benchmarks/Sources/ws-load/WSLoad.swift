import ArgumentParser
import NIOCore
import NIOPosix
import Synchronization
import WebSocket

/// Drives an echo server with binary messages over several connections and reports messages/s
/// and MB/s of echoed payload. Each connection keeps `window` messages in flight and runs
/// entirely on an event loop around the sans-I/O state machine, with no task hop per message,
/// so that the client stays cheaper than any server it measures.
@main
struct WSLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ws-load")

    @Option(help: "Echo server, as host:port.") var target = "127.0.0.1:9001"
    @Option(help: "Concurrent connections.") var connections = 1
    @Option(help: "Message size in bytes.") var size = 1024
    @Option(help: "Messages in flight per connection.") var window = 8
    @Option(help: "Measured seconds, after the warm-up.") var seconds = 5.0
    @Option(help: "Warm-up seconds, not measured.") var warmup = 1.0
    @Option(help: "Event-loop threads of the client.") var threads = 1
    @Option(help: "Label printed with the result.") var label = ""

    func run() async throws {
        let parts = target.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--target must be host:port") }
        let host = String(parts[0])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let counter = Counter()
        let now = NIODeadline.now()
        let plan = LoadPlan(
            payload: ByteBuffer(repeating: 0x61, count: size),
            window: window,
            measureFrom: now + .nanoseconds(Int64(warmup * 1e9)),
            measureUntil: now + .nanoseconds(Int64((warmup + seconds) * 1e9)),
            counter: counter
        )
        var closed: [EventLoopFuture<Void>] = []
        for _ in 0..<connections {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(LoadHandler(plan: plan, host: "\(host):\(port)"))
                    }
                }
                .connect(host: host, port: port).get()
            closed.append(channel.closeFuture)
        }
        for future in closed {
            try await future.get()
        }
        try await group.shutdownGracefully()
        if let failure = counter.failure.withLock({ $0 }) {
            throw ValidationError(failure)
        }
        let perSecond = Double(counter.messages.load(ordering: .relaxed)) / seconds
        let megabytes = perSecond * Double(size) / 1_000_000
        let name = label.isEmpty ? target : label
        print("\(name)\tsize=\(size)\tconnections=\(connections)\tmsgs/s=\(Int(perSecond))\tMB/s=\(String(format: megabytes))")
    }
}

struct LoadPlan: Sendable {
    let payload: ByteBuffer
    let window: Int
    let measureFrom: NIODeadline
    let measureUntil: NIODeadline
    let counter: Counter
}

/// Messages echoed within the measured window, across connections.
final class Counter: Sendable {
    let messages = Atomic<Int>(0)
    let failure = Mutex<String?>(nil)
}

/// One load connection: the handshake, then `window` messages in flight until the deadline,
/// then a normal close.
final class LoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let plan: LoadPlan
    private let host: String
    private let handshake = WebSocketClientHandshake()
    private var machine = WebSocketStateMachine(role: .client, configuration: WebSocketConfiguration(maxMessageSize: 64 << 20))
    private var head = ByteBuffer()
    private var upgraded = false
    private var outstanding = 0

    init(plan: LoadPlan, host: String) {
        self.plan = plan
        self.host = host
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(handshake.requestBytes(target: "/", host: host)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if !upgraded {
            head.writeBuffer(&bytes)
            do {
                guard let response = try WebSocketClientHandshake.parseResponseHead(&head) else { return }
                _ = try handshake.validate(status: response.status, headers: response.headers)
            } catch {
                fail(context: context, "handshake: \(error)")
                return
            }
            upgraded = true
            for _ in 0..<plan.window { send() }
            outstanding = plan.window
            bytes = head
        }
        machine.receive(bytes)
        while let event = machine.nextEvent() {
            switch event {
            case .message(.binary(let echoed)) where echoed.readableBytes == plan.payload.readableBytes:
                let now = NIODeadline.now()
                if now >= plan.measureFrom && now < plan.measureUntil {
                    plan.counter.messages.add(1, ordering: .relaxed)
                }
                if now < plan.measureUntil {
                    send()
                } else {
                    outstanding -= 1
                    if outstanding == 0 {
                        try? machine.sendClose()
                    }
                }
            case .message:
                fail(context: context, "the server did not echo the message")
                return
            case .close, .failure:
                machine.replyToClose()
            case .ping, .pong:
                break
            }
        }
        machine.drainOutput { buffer, _ in context.write(wrapOutboundOut(buffer), promise: nil) }
        if machine.state == .closed {
            context.flush()
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    private func send() {
        try? machine.send(.binary(plan.payload))
    }

    private func fail(context: ChannelHandlerContext, _ reason: String) {
        plan.counter.failure.withLock { $0 = reason }
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, "\(error)")
    }
}

extension String {
    /// One decimal place, without Foundation.
    init(format value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}

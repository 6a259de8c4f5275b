import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A plain NIO WebSocket server: every connection must upgrade, on any path. It is what
/// `ws-echo`, the loopback tests and the benchmarks run; the product's own endpoint upgrades
/// inside Hummingbird instead (see `WebSocketConnection.installServerHandlers`).
public struct WebSocketServer: Sendable {
    public enum Outcome: Sendable {
        case upgraded(WebSocketConnection)
        /// Not a valid upgrade; the HTTP error was written and the connection closed.
        case refused
    }

    private let serverChannel: NIOAsyncChannel<EventLoopFuture<Outcome>, Never>

    public var localAddress: SocketAddress? { serverChannel.channel.localAddress }
    public var port: Int? { localAddress?.port }

    public static func bind(
        host: String,
        port: Int,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        subprotocols: [String] = [],
        tlsConfiguration: TLSConfiguration? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> WebSocketServer {
        let sslContext = try tlsConfiguration.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            // Idle connections keep small read buffers; busy ones may read a 64 KiB message
            // (plus its header) in one go instead of two.
            .childChannelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024))
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    return try configurePipeline(channel: channel, configuration: configuration, subprotocols: subprotocols)
                }
            }
        return WebSocketServer(serverChannel: channel)
    }

    /// Per-connection memory of why an upgrade was refused: NIO drops the request when every
    /// upgrader refuses, so the not-upgrading path must answer from this.
    private final class RefusalBox: Sendable {
        let rejection = Mutex<WebSocketServerHandshake.Rejection?>(nil)
    }

    private static func configurePipeline(
        channel: any Channel,
        configuration: WebSocketConfiguration,
        subprotocols: [String]
    ) throws -> EventLoopFuture<Outcome> {
        let refusal = RefusalBox()
        let upgrader = WebSocketServerUpgrader<Outcome>(
            subprotocols: subprotocols,
            onRejection: { rejection in refusal.rejection.withLock { $0 = rejection } }
        ) { channel, _, subprotocol in
            channel.eventLoop.makeCompletedFuture {
                .upgraded(try WebSocketConnection.installServerHandlers(
                    on: channel, configuration: configuration, subprotocol: subprotocol
                ))
            }
        }
        var pipeline = NIOUpgradableHTTPServerPipelineConfiguration(
            upgradeConfiguration: NIOTypedHTTPServerUpgradeConfiguration(upgraders: [upgrader]) { channel in
                let rejection = refusal.rejection.withLock { $0 } ?? WebSocketServerHandshake.Rejection(
                    status: .upgradeRequired,
                    headers: ["Upgrade": "websocket", "Sec-WebSocket-Version": "13"],
                    reason: "This endpoint only speaks WebSocket."
                )
                return refuse(channel: channel, rejection: rejection).map { .refused }
            }
        )
        pipeline.enablePipelining = false
        pipeline.enableErrorHandling = true
        return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
    }

    private static func refuse(channel: any Channel, rejection: WebSocketServerHandshake.Rejection) -> EventLoopFuture<Void> {
        var body = channel.allocator.buffer(capacity: rejection.reason.utf8.count + 1)
        body.writeString(rejection.reason + "\n")
        var headers = rejection.headers
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: rejection.status, headers: headers)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        return channel.writeAndFlush(HTTPServerResponsePart.end(nil)).flatMap {
            channel.close()
        }
    }

    /// Accepts connections until the server is closed (or the task is cancelled), running
    /// `handler` for each upgraded one in its own child task.
    public func run(_ handler: @escaping @Sendable (WebSocketConnection) async -> Void) async throws {
        try await serverChannel.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await outcome in inbound {
                    group.addTask {
                        guard case .upgraded(let connection)? = try? await outcome.get() else { return }
                        await withTaskExecutorPreference(EventLoopTaskExecutor(connection.channel.eventLoop)) {
                            await handler(connection)
                        }
                    }
                }
            }
        }
    }

    /// Stops accepting; `run` returns once the running handlers finish.
    public func close() async throws {
        try await serverChannel.channel.close()
    }
}

import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Opens client connections over `ws://` and `wss://`.
public enum WebSocketClient {
    public enum ConnectError: Error, Sendable, Hashable {
        /// Neither a TCP connection nor a handshake answer within the timeout.
        case timedOut
    }

    /// Connects, performs the opening handshake and returns the connection.
    ///
    /// - Parameters:
    ///   - headers: added to the upgrade request (for example `Coder-Session-Token`).
    ///   - tlsConfiguration: for `wss://`; the default verifies the server against the
    ///     system's trust roots.
    ///   - timeout: bounds the TCP connect and the handshake together.
    /// - Throws: `WebSocketURL.ParseError`, `WebSocketClientHandshake.Failure` (including the
    ///   HTTP status of a refused upgrade), `ConnectError`, NIO/TLS errors, or `CancellationError`
    ///   when the calling task is cancelled before the handshake is done.
    public static func connect(
        to url: String,
        headers: HTTPHeaders = [:],
        subprotocols: [String] = [],
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        tlsConfiguration: TLSConfiguration? = nil,
        timeout: Duration = .seconds(10),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> WebSocketConnection {
        let target = try WebSocketURL(url)
        let sslContext = try target.isSecure ? NIOSSLContext(configuration: tlsConfiguration ?? .makeClientConfiguration()) : nil
        let handshake = WebSocketClientHandshake(subprotocols: subprotocols)
        let request = handshake.requestBytes(target: target.target, host: target.hostHeader, additional: headers)
        let loop = eventLoopGroup.next()
        let upgraded = loop.makePromise(of: WebSocketConnection.self)
        let deadline = loop.scheduleTask(in: TimeAmount(timeout)) {
            upgraded.fail(ConnectError.timedOut)
        }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let sslContext {
                        let handler = try NIOSSLClientHandler(
                            context: sslContext, serverHostname: target.isIPLiteral ? nil : target.host
                        )
                        try operations.addHandler(handler)
                    }
                    try operations.addHandler(WebSocketClientHandshakeHandler(
                        handshake: handshake, request: request, configuration: configuration, promise: upgraded
                    ))
                }
            }
        // One promise to wait on for the TCP connect and the handshake alike, failed by the
        // deadline, by a failed connect, or by the task's cancellation: a cancelled caller (a
        // daemon told to stop) stops waiting at once, even for an address that never answers.
        let connected = bootstrap.connect(host: target.host, port: target.port)
        connected.whenFailure { upgraded.fail($0) }
        do {
            let connection = try await withTaskCancellationHandler {
                try await upgraded.futureResult.get()
            } onCancel: {
                upgraded.fail(CancellationError())
            }
            deadline.cancel()
            return connection
        } catch {
            deadline.cancel()
            connected.whenSuccess { $0.close(promise: nil) }
            throw error
        }
    }
}

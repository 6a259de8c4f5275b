import NIOCore
import NIOPosix
import Testing
import TestSupport
@testable import WebSocket

struct TimedOut: Error {}

/// Fails instead of hanging when a loopback test goes wrong. Generous: the full suite runs
/// multi-process tests beside these on two cores, and a debug-build TLS handshake is slow there.
func withTimeout<T: Sendable>(_ duration: Duration = .seconds(60), _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw TimedOut()
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

/// A server on an ephemeral loopback port whose connections are handed to `handler`; the
/// server connections' close statuses are collected for assertions.
final class TestServer: Sendable {
    let server: WebSocketServer
    let port: Int
    private let runTask: Task<Void, any Error>
    /// Close statuses of the server's connections, in the order they ended.
    private let log = Watched<[WebSocketCloseStatus]>([])

    init(
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        subprotocols: [String] = [],
        handler: @escaping @Sendable (WebSocketConnection) async throws -> Void
    ) async throws {
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, configuration: configuration, subprotocols: subprotocols)
        self.server = server
        self.port = server.port!
        let log = self.log
        runTask = Task {
            try await server.run { connection in
                try? await handler(connection)
                let status = await connection.closeStatus
                log.update { $0.append(status) }
            }
        }
    }

    var url: String { "ws://127.0.0.1:\(port)/test" }

    func waitForStatuses(_ count: Int) async throws -> [WebSocketCloseStatus] {
        try await withTimeout { try await self.log.wait { $0.count >= count } }
    }

    func stop() async throws {
        try await server.close()
        _ = try? await runTask.value
    }

    /// The echo application: every message goes back as it came.
    static let echo: @Sendable (WebSocketConnection) async throws -> Void = { connection in
        try await connection.run { inbound, outbound in
            for try await message in inbound {
                try await outbound.send(message)
            }
        }
    }
}

/// A TCP client that speaks bytes, for peers that misbehave on purpose.
struct RawClient {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int) async throws -> RawClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        return RawClient(channel: channel)
    }

    static func upgradeRequest(version: String = "13") -> String {
        "GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: \(version)\r\n\r\n"
    }
}

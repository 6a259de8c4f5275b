import ArgumentParser
import WebSocket

/// An echo server on our server side, for the Autobahn fuzzing client and the benchmarks:
/// every text or binary message goes back unchanged, on any path.
@main
struct WSEcho: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws-echo",
        abstract: "WebSocket echo server built on the hand-written RFC 6455 layer."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 9001

    /// Autobahn's 9.x cases send 16 MiB messages.
    @Option(help: "Largest message accepted, in bytes.")
    var maxMessageSize = 64 * 1024 * 1024

    func run() async throws {
        // No keepalive pings: a ping in the middle of an Autobahn case fails it.
        let configuration = WebSocketConfiguration(maxMessageSize: maxMessageSize, pingInterval: nil)
        let server = try await WebSocketServer.bind(host: host, port: port, configuration: configuration)
        print("ws-echo listening on \(host):\(server.port ?? port)")
        try await server.run { connection in
            _ = try? await connection.run { inbound, outbound in
                for try await message in inbound {
                    try await outbound.send(message)
                }
            }
        }
    }
}

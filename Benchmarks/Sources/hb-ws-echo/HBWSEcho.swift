import ArgumentParser
import Hummingbird
import HummingbirdWebSocket

/// An echo server on hummingbird-websocket, the reference our echo server is measured against.
@main
struct HBWSEcho: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hb-ws-echo")

    @Option var host = "127.0.0.1"
    @Option var port = 9011

    func run() async throws {
        let app = Application(
            router: Router(),
            server: .http1WebSocketUpgrade(
                configuration: .init(ws: .init(maxFrameSize: 64 << 20, autoPing: .disabled))
            ) { _, _, _ in
                .upgrade([:]) { inbound, outbound, _ in
                    for try await message in inbound.messages(maxSize: 64 << 20) {
                        switch message {
                        case .text(let text): try await outbound.write(.text(text))
                        case .binary(let bytes): try await outbound.write(.binary(bytes))
                        }
                    }
                }
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "hb-ws-echo")
        )
        try await app.runService()
    }
}

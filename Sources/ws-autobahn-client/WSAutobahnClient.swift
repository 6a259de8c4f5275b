import ArgumentParser
import WebSocket

/// Drives an Autobahn `fuzzingserver` against our client: asks for the number of cases, runs
/// each one by echoing every message, then asks the server to write its reports.
@main
struct WSAutobahnClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws-autobahn-client",
        abstract: "Runs every case of an Autobahn fuzzing server against the hand-written WebSocket client."
    )

    @Option(help: "The fuzzing server, e.g. ws://127.0.0.1:9002.")
    var url = "ws://127.0.0.1:9002"

    @Option(help: "Agent name under which the reports are filed.")
    var agent = "coordinator-websocket"

    func run() async throws {
        let configuration = WebSocketConfiguration(maxMessageSize: 64 * 1024 * 1024, pingInterval: nil)
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url

        let counter = try await WebSocketClient.connect(to: "\(base)/getCaseCount", configuration: configuration)
        let count = try await counter.run { inbound, _ in
            for try await message in inbound {
                if case .text(let text) = message { return Int(text) }
            }
            return nil
        }
        guard let count else { throw ValidationError("the fuzzing server did not send a case count") }
        print("running \(count) cases against agent \(agent)")

        for index in 1...max(count, 1) where count > 0 {
            do {
                let connection = try await WebSocketClient.connect(
                    to: "\(base)/runCase?case=\(index)&agent=\(agent)", configuration: configuration
                )
                _ = try? await connection.run { inbound, outbound in
                    for try await message in inbound {
                        try await outbound.send(message)
                    }
                }
                let status = await connection.closeStatus
                print("case \(index)/\(count): closed with \(status.code)")
            } catch {
                print("case \(index)/\(count): \(error)")
            }
        }

        let reports = try await WebSocketClient.connect(to: "\(base)/updateReports?agent=\(agent)", configuration: configuration)
        try await reports.run { inbound, _ in
            for try await _ in inbound {}
        }
        print("reports updated")
    }
}

import Foundation
import NIOCore
import NIOHTTP1
import ProvisionerProtocol
import TestSupport
import WebSocket

/// A daemon written from docs/provisioner-protocol.md alone, on our WebSocket client, that sends
/// whatever a test tells it to: the hostile peer of the hardening tests.
final class HostileDaemon: Sendable {
    let connection: WebSocketConnection
    private let outbound: WebSocketOutbound
    private let iterator: IteratorBox
    private let finish: AsyncStream<Void>.Continuation
    private let runner: Task<Void, Never>

    /// Messages arrive one by one for the test that owns this daemon.
    private final class IteratorBox: @unchecked Sendable {
        var iterator: AsyncThrowingStream<String, any Error>.AsyncIterator
        init(_ iterator: AsyncThrowingStream<String, any Error>.AsyncIterator) { self.iterator = iterator }
    }

    struct Options {
        var name: String
        var instanceID: String? = UUID().uuidString
        var tags: [String] = []
        var organization = "default"
        var psk: String? = nil
        var token: String? = nil
        var maxMessageSize = ProvisionerLimits.maxMessageBytes
    }

    static func url(port: Int, _ options: Options) -> String {
        var query = "provisioner=echo&name=\(options.name)"
        if let instance = options.instanceID { query += "&instance_id=\(instance)" }
        for tag in options.tags { query += "&tag=\(tag)" }
        return "ws://127.0.0.1:\(port)\(ProvisionerServe.path(organization: options.organization))?\(query)"
    }

    /// Connects and completes the protocol handshake (hello → welcome).
    static func connect(port: Int, _ options: Options) async throws -> (HostileDaemon, Welcome) {
        var headers = HTTPHeaders()
        if let psk = options.psk { headers.add(name: ProvisionerServe.pskHeader, value: psk) }
        if let token = options.token { headers.add(name: ProvisionerServe.sessionTokenHeader, value: token) }
        // A minute, not the client's usual ten seconds: on a loaded machine (a full suite beside
        // real Terraform) a registration the server has made may be answered later than that, and
        // a client that gave up would still hold its place under the daemon caps until its
        // session ends (DaemonCapAndRoleTests counts exactly who got in).
        let connection = try await WebSocketClient.connect(
            to: url(port: port, options), headers: headers, configuration: .init(maxMessageSize: options.maxMessageSize),
            timeout: .seconds(60)
        )
        let daemon = try await HostileDaemon(connection)
        try await daemon.send(.hello(Hello(daemonVersion: "hostile")))
        guard case .welcome(let welcome) = try await daemon.next() else { throw TestSetupError("no welcome") }
        return (daemon, welcome)
    }

    private init(_ connection: WebSocketConnection) async throws {
        self.connection = connection
        let (messages, received) = AsyncThrowingStream<String, any Error>.makeStream()
        let (writers, writer) = AsyncStream<WebSocketOutbound>.makeStream()
        let (finished, finish) = AsyncStream<Void>.makeStream()
        runner = Task {
            _ = try? await connection.run { inbound, outbound in
                writer.yield(outbound)
                writer.finish()
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            for try await message in inbound {
                                if case .text(let text) = message { received.yield(text) }
                            }
                            received.finish()
                        } catch {
                            received.finish(throwing: error)
                        }
                    }
                    group.addTask { for await _ in finished {} }
                    await group.next()
                    group.cancelAll()
                }
            }
            received.finish()
        }
        var writerIterator = writers.makeAsyncIterator()
        guard let outbound = await writerIterator.next() else { throw TestSetupError("connection ended before it started") }
        self.outbound = outbound
        self.iterator = IteratorBox(messages.makeAsyncIterator())
        self.finish = finish
    }

    func send(_ message: DaemonMessage) async throws {
        try await outbound.send(text: ProvisionerCoding.encode(message))
    }

    func sendRaw(_ text: String) async throws {
        try await outbound.send(text: text)
    }

    /// The next message from the coordinator; throws when the connection has ended.
    func next() async throws -> CoordinatorMessage {
        guard let text = try await iterator.iterator.next() else { throw TestSetupError("the connection ended") }
        return try ProvisionerCoding.decodeCoordinatorMessage(text)
    }

    /// The next message answering request `id` (unasked messages such as `cancel` are skipped).
    func reply(to id: Int64) async throws -> CoordinatorMessage {
        while true {
            let message = try await next()
            switch message {
            case .job(let got, _), .acquireCanceled(let got), .updated(let got, _), .quota(let got, _, _, _), .done(let got):
                if got == id { return message }
            case .error(let got, _, _):
                if got == id || got == nil { return message }
            case .welcome, .cancel:
                continue
            }
        }
    }

    /// Waits until the coordinator ends the connection, and says how.
    func closed() async -> WebSocketCloseStatus {
        while (try? await iterator.iterator.next()) != nil {}
        return await connection.closeStatus
    }

    func close() async {
        try? await outbound.close(code: .normalClosure)
        finish.finish()
        await runner.value
    }
}

import Foundation
import NIOCore
import ProvisionerDaemon
import ProvisionerProtocol
import Synchronization
import TestSupport
import Testing
import WebSocket

/// A connection lost at any point of the daemon's handshake ends in a reconnect, never in a daemon
/// that waits for ever: the reader's end fails the wait for `welcome` and every request waiting
/// for an answer on that connection, the job's `resume` included. The daemon runs in-process
/// against a fake coordinator that drops or garbles the connection where the test says.
@Suite struct DaemonReconnectTests {
    /// The reported bug: the connection dropped after `welcome` and before the answer to `resume`;
    /// the resume waited for ever (only `connectionLoop`'s detach, after `serve` returned, would
    /// have failed it), so a daemon holding a job never reconnected.
    @Test func aConnectionLostBeforeTheResumeIsAnsweredIsFollowedByAReconnect() async throws {
        let lease = Lease(jobID: UUID(), daemonID: UUID(), epoch: 1)
        // Long enough to be in hand for the whole test; the fake calls the lease stale at the end.
        let manifest = Array(#"{"resources": [], "apply_ms": 600000}"#.utf8)
        let job = AcquiredJob(
            lease: lease, type: "template_version_import", provisioner: "echo",
            archive: Data(TarArchive.make(name: "manifest.json", contents: manifest)).base64EncodedString()
        )
        let fake = try await FakeCoordinator { peer in
            guard case .hello? = try await peer.next() else { return }
            try await peer.send(.welcome(Welcome(version: ProvisionerProtocolVersion.current, daemonID: lease.daemonID, replicaID: UUID())))
            switch peer.number {
            case 1:
                // Hand the job over; once the daemon works on it (its first update), drop the connection.
                while let message = try await peer.next() {
                    if case .acquire(let id) = message { try await peer.send(.job(id: id, job: job)) }
                    if case .update = message { return }
                }
            case 2:
                // The daemon resumes its job first; drop the connection without answering.
                _ = try await peer.next()
            default:
                // The lease is stale from here on: the daemon abandons its job, and the test can stop it.
                while let message = try await peer.next() {
                    switch message {
                    case .resume(let id, _), .update(let id, _, _), .commitQuota(let id, _, _), .complete(let id, _, _), .fail(let id, _, _, _):
                        try await peer.send(.error(id: id, code: .staleLease, message: "the lease is not current"))
                    case .cancelAcquire(let id):
                        try await peer.send(.acquireCanceled(id: id))
                    case .hello, .acquire:
                        continue
                    }
                }
            }
        }
        let daemon = ProvisionerDaemon(configuration: Self.configuration(port: fake.port))
        let returned = ReturnedFlag()
        let running = Task { await daemon.run(); returned.set() }
        do {
            try await eventually("the daemon's third connection") { fake.hellos >= 3 }
            // The connections went as the test means them to.
            #expect(fake.types(on: 1) == ["hello", "acquire", "update"])
            #expect(fake.types(on: 2) == ["hello", "resume"])
            daemon.shutdown()
            try await eventually("run() returned") { returned.isSet }
            #expect(Array(fake.types(on: 3).prefix(2)) == ["hello", "resume"])
        } catch {
            daemon.shutdown()
            running.cancel()
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    enum BadWelcome: String, Sendable, CaseIterable {
        case binary
        case invalidJSON

        var message: WebSocketMessage {
            switch self {
            case .binary: .binary(ByteBuffer(bytes: [0x7B, 0x7D]))
            case .invalidJSON: .text("this is not JSON")
            }
        }
    }

    /// A reader that threw before `welcome` (a binary message, undecodable JSON) never finished
    /// the welcome stream, and the daemon waited for a welcome for ever instead of reconnecting.
    /// The fake answers every hello so and leaves the connection open: only the daemon ends it.
    @Test(arguments: BadWelcome.allCases)
    func aHelloAnsweredWithGarbageIsFollowedByAReconnect(_ answer: BadWelcome) async throws {
        let fake = try await FakeCoordinator { peer in
            guard case .hello? = try await peer.next() else { return }
            try await peer.sendRaw(answer.message)
            while try await peer.next() != nil {}
        }
        let daemon = ProvisionerDaemon(configuration: Self.configuration(port: fake.port))
        let returned = ReturnedFlag()
        let running = Task { await daemon.run(); returned.set() }
        do {
            try await eventually("the daemon's second connection") { fake.hellos >= 2 }
            // No job, no acquire (there was never a welcome): the daemon exits at once.
            daemon.shutdown()
            try await eventually("run() returned") { returned.isSet }
        } catch {
            daemon.shutdown()
            running.cancel()
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    static func configuration(port: Int) -> DaemonConfiguration {
        DaemonConfiguration(
            urls: ["http://127.0.0.1:\(port)"], credential: .preSharedKey("nobody-checks"), provisioners: ["echo"],
            tags: [:], name: "d-reconnect-\(UUID().uuidString.prefix(8))", version: "test",
            initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(100)
        )
    }
}

private final class ReturnedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A coordinator on a loopback port (our WebSocket server, any path, no authentication) that
/// speaks the daemon protocol as its script says, connection by connection, and records every
/// message it receives.
final class FakeCoordinator: Sendable {
    struct Received: Sendable, Equatable {
        /// 1 for the first connection, and so on.
        var connection: Int
        var type: String
    }

    let port: Int
    private let server: WebSocketServer
    private let registry: Registry
    private let runner: Task<Void, Never>

    /// The connections, for numbering and for closing them all at the end.
    private final class Registry: Sendable {
        private struct State {
            var channels: [any Channel] = []
            var stopped = false
        }

        let received = Watched<[Received]>([])
        private let state = Mutex(State())

        /// Numbers a new connection (from 1); closes it at once once the fake has stopped.
        func opened(_ channel: any Channel) -> Int {
            let (number, stopped) = state.withLock { state in
                state.channels.append(channel)
                return (state.channels.count, state.stopped)
            }
            if stopped { channel.close(promise: nil) }
            return number
        }

        func stop() {
            let channels = state.withLock { state in
                state.stopped = true
                return state.channels
            }
            for channel in channels { channel.close(promise: nil) }
        }
    }

    /// `script` runs once per connection and should return once `peer.next()` returns nil (the
    /// connection ended); when it returns, the fake closes the connection (1000; 1011 if it threw).
    init(script: @escaping @Sendable (FakeCoordinatorPeer) async throws -> Void) async throws {
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1", port: 0, configuration: WebSocketConfiguration(maxMessageSize: ProvisionerLimits.maxMessageBytes)
        )
        guard let port = server.port else { throw TestSetupError("the fake coordinator has no port") }
        let registry = Registry()
        self.server = server
        self.port = port
        self.registry = registry
        runner = Task {
            try? await server.run { connection in
                let number = registry.opened(connection.channel)
                _ = try? await connection.run { inbound, outbound in
                    try await script(FakeCoordinatorPeer(number: number, inbound: inbound, outbound: outbound, received: registry.received))
                }
            }
        }
    }

    /// How many `hello`s the daemon has sent, over all connections.
    var hellos: Int { registry.received.value.filter { $0.type == "hello" }.count }

    /// The types of the messages received on connection `number`, in order.
    func types(on number: Int) -> [String] {
        registry.received.value.filter { $0.connection == number }.map(\.type)
    }

    /// Stops listening, closes every connection and waits for the scripts to end.
    func stop() async {
        try? await server.close()
        registry.stop()
        await runner.value
    }
}

/// One connection of a `FakeCoordinator`, as its script sees it.
final class FakeCoordinatorPeer {
    let number: Int
    private var iterator: WebSocketInbound.AsyncIterator
    private let outbound: WebSocketOutbound
    private let received: Watched<[FakeCoordinator.Received]>

    init(number: Int, inbound: WebSocketInbound, outbound: WebSocketOutbound, received: Watched<[FakeCoordinator.Received]>) {
        self.number = number
        self.iterator = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.received = received
    }

    /// The daemon's next message (recorded); nil once the connection has ended.
    func next() async throws -> DaemonMessage? {
        guard let message = try await iterator.next() else { return nil }
        guard case .text(let text) = message else { throw TestSetupError("the daemon sent a binary message") }
        let decoded = try ProvisionerCoding.decodeDaemonMessage(text)
        let (number, type) = (self.number, Self.typeName(decoded))
        received.update { $0.append(FakeCoordinator.Received(connection: number, type: type)) }
        return decoded
    }

    func send(_ message: CoordinatorMessage) async throws {
        try await outbound.send(text: ProvisionerCoding.encode(message))
    }

    /// Anything at all, protocol or not.
    func sendRaw(_ message: WebSocketMessage) async throws {
        try await outbound.send(message)
    }

    static func typeName(_ message: DaemonMessage) -> String {
        switch message {
        case .hello: "hello"
        case .acquire: "acquire"
        case .cancelAcquire: "cancel_acquire"
        case .resume: "resume"
        case .update: "update"
        case .commitQuota: "commit_quota"
        case .complete: "complete"
        case .fail: "fail"
        }
    }
}

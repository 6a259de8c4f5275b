@testable import API
import CoordinatorServer
import Foundation
import Logging
import NIOCore
import Replicas
import ServiceLifecycle
import TestSupport

/// A `CoordinatorServer` run in this process, as the executable runs it but on port 0 and with no
/// signals: inside a service group of its own, which `stop()` shuts down gracefully.
struct InProcessServer {
    let configuration: CoordinatorServer.Configuration
    let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }

    static let logger: Logger = {
        var logger = Logger(label: "coordinator.test")
        logger.logLevel = .warning
        return logger
    }()

    /// A configuration for a replica of this process on `databaseURL`, hashing passwords at the
    /// test-only cost.
    static func configuration(databaseURL: String) -> CoordinatorServer.Configuration {
        var configuration = CoordinatorServer.Configuration(
            version: "test", host: "127.0.0.1", port: 0,
            database: .init(source: .url(databaseURL), poolSize: 4),
            replica: ReplicaConfiguration(hostname: "in-process", version: "test"),
            gracefulShutdownSignals: []
        )
        configuration.passwordHashing = .testCost
        return configuration
    }

    /// Starts the server and returns once it serves; throws what stopped it if it never did.
    static func start(_ configuration: CoordinatorServer.Configuration) async throws -> InProcessServer {
        let (addresses, serving) = AsyncStream.makeStream(of: SocketAddress.self)
        let server = CoordinatorServer(configuration: configuration, logger: logger, onServing: { serving.yield($0) })
        let group = ServiceGroup(services: [server], logger: logger)
        let running = Task {
            defer { serving.finish() }
            try await group.run()
        }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next(), let port = address.port else {
            try await running.value
            throw TestSetupError("the server stopped before it served")
        }
        return InProcessServer(configuration: configuration, port: port, group: group, running: running)
    }

    /// Shuts the server down gracefully and returns once `run()` has returned.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

@testable import API
import ArgumentParser
import CoordinatorCommands
import CoordinatorServer
import Foundation
import Logging
import NIOCore
import ProvisionerDaemon
import ServiceLifecycle
import Synchronization
import TestSupport

/// A replica run in this process from the flags `coordinator server` takes, parsed by the same
/// command (`ServerCommand`), so a flag means here what it means to the executable. What only a
/// process has is left out: no signals (it is stopped through its service group), the log in
/// memory (`--log-format` is not read), and passwords hashed at the test cost.
final class InProcessReplica: Sendable {
    let configuration: CoordinatorServer.Configuration
    let log: CapturedLog
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    private init(configuration: CoordinatorServer.Configuration, log: CapturedLog, group: ServiceGroup, running: Task<Void, any Error>) {
        self.configuration = configuration
        self.log = log
        self.group = group
        self.running = running
    }

    /// Starts the replica and returns once it serves HTTP; throws what stopped it if it never did.
    /// `arguments` are those of `coordinator server`, without the subcommand's name.
    static func start(_ arguments: [String]) async throws -> InProcessReplica {
        let command: ServerCommand
        do {
            command = try ServerCommand.parse(arguments)
        } catch {
            throw TestSetupError("coordinator server \(arguments.joined(separator: " ")): \(ServerCommand.message(for: error))")
        }
        var configuration = try command.makeConfiguration()
        configuration.gracefulShutdownSignals = []
        configuration.passwordHashing = .testCost
        let log = CapturedLog()
        let logger = log.logger(label: "coordinator", level: try command.logLevel())
        let (addresses, serving) = AsyncStream.makeStream(of: SocketAddress.self)
        let server = CoordinatorServer(configuration: configuration, logger: logger, onServing: { serving.yield($0) })
        let group = ServiceGroup(services: [server], logger: logger)
        let running = Task {
            defer { serving.finish() }
            try await group.run()
        }
        var iterator = addresses.makeAsyncIterator()
        guard await iterator.next() != nil else {
            do {
                try await running.value
            } catch {
                throw TestSetupError("the in-process replica did not start: \(error)\n\(log.text.suffix(1500))")
            }
            throw TestSetupError("the in-process replica stopped before it served:\n\(log.text.suffix(1500))")
        }
        return InProcessReplica(configuration: configuration, log: log, group: group, running: running)
    }

    /// Shuts the replica down gracefully (it deregisters, as on SIGTERM) and returns once it has
    /// stopped; throws what `run()` threw, if anything.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

/// A provisioner daemon run in this process from the flags `coordinator provisionerd start`
/// takes, parsed by the same command; its log is kept in memory.
struct InProcessDaemon: Sendable {
    let daemon: ProvisionerDaemon
    let captured: CapturedLog

    /// What it has logged (for failure messages).
    var log: String { captured.text }

    /// Runs the daemon while `body` runs, then stops it as SIGTERM would (`DaemonShutdown`: at
    /// once without a job, after it otherwise) and waits for it to return, whether `body` returned
    /// or threw. A daemon still busy a minute later is cancelled and reported.
    static func with(_ arguments: [String], _ body: (InProcessDaemon) async throws -> Void) async throws {
        let command: ProvisionerdCommand.Start
        do {
            command = try ProvisionerdCommand.Start.parse(arguments)
        } catch {
            throw TestSetupError("coordinator provisionerd start \(arguments.joined(separator: " ")): \(ProvisionerdCommand.Start.message(for: error))")
        }
        let captured = CapturedLog()
        let configuration = try command.daemonConfiguration()
        let daemon = ProvisionerDaemon(
            configuration: configuration, provisioners: try await command.makeProvisioners(daemonName: configuration.name),
            logger: captured.logger(label: "provisionerd", level: command.level)
        )
        let returned = StoppedFlag()
        let running = Task {
            await daemon.run()
            returned.set()
        }
        let outcome: Result<Void, any Error>
        do {
            try await body(InProcessDaemon(daemon: daemon, captured: captured))
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        daemon.shutdown()
        do {
            try await eventually("the in-process daemon stopped", timeout: .seconds(60)) { returned.isSet }
        } catch {
            running.cancel()
            // The test's own failure says more than the daemon's.
            try outcome.get()
            throw TestSetupError("the in-process daemon did not stop after its test: \(captured.text.suffix(2000))")
        }
        try outcome.get()
    }
}

private final class StoppedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

import Foundation
import ProvisionerDaemon
import Synchronization
import TestSupport
import Testing

/// `coordinator provisionerd` stops on SIGTERM and SIGINT in every state, by one rule
/// (`DaemonShutdown`): without a job it exits at once, also while it cannot connect; with a job it
/// finishes it first (`ProvisionerTests.StoppedDaemons.aDaemonStoppedWithSIGTERMFinishesItsJobThenExits`).
@Suite struct ProvisionerdSignalTests {
    // MARK: the rule

    @Test func theShutdownRuleInEveryState() {
        let job = UUID()
        // Connecting, backing off, or connected between two acquires: nothing is owed to anyone.
        #expect(DaemonShutdown.step(jobInHand: nil, acquireOnTheWire: nil) == .exitNow)
        // Connected and idle: the coordinator may be handing over a job right now; the answer decides.
        #expect(DaemonShutdown.step(jobInHand: nil, acquireOnTheWire: 7) == .withdrawAcquire(requestID: 7))
        // Running a job, connected or not.
        #expect(DaemonShutdown.step(jobInHand: job, acquireOnTheWire: nil) == .interruptJob(job))
        #expect(DaemonShutdown.step(jobInHand: job, acquireOnTheWire: 7) == .interruptJob(job))
    }

    // MARK: in process

    @Test func aDaemonStoppedBeforeItRunsReturnsAtOnce() async throws {
        let daemon = ProvisionerDaemon(configuration: Self.configuration(port: try freePort()))
        daemon.shutdown()
        let returned = DoneFlag()
        Task { await daemon.run(); returned.set() }
        try await eventually("run() returned", timeout: .seconds(10)) { returned.isSet }
    }

    /// The reported bug: while no connection would come up, `shutdown()` was noted and nothing
    /// woke the work loop, which waited for a connection for ever.
    @Test func aDaemonRetryingItsConnectionReturnsOnShutdown() async throws {
        let listener = try SilentListener()
        let daemon = ProvisionerDaemon(configuration: Self.configuration(port: listener.port))
        let returned = DoneFlag()
        Task { await daemon.run(); returned.set() }
        // Every connection is closed unanswered: the second one shows the daemon backing off and retrying.
        var attempts = 0
        try await eventually("the daemon retried") {
            attempts += listener.acceptWaiting(keep: false)
            return attempts >= 2
        }
        daemon.shutdown()
        try await eventually("run() returned", timeout: .seconds(10)) { returned.isSet }
    }

    // MARK: the real command

    /// Pointed at a port nobody listens on, the daemon retries for ever; either signal ends it,
    /// with status 0, as soon as it is sent.
    @Test(arguments: [SIGTERM, SIGINT])
    func aDaemonThatCannotConnectStopsOnTheSignal(_ signal: Int32) async throws {
        let daemon = try Self.daemonProcess(port: try freePort())
        try await eventually("the daemon retrying", timeout: .seconds(30)) {
            daemon.log.components(separatedBy: "connection to coordinator failed").count > 2
        }
        #expect(daemon.isRunning)
        daemon.signal(signal)
        #expect(try await daemon.waitForExit(timeout: .seconds(30)) == 0, "\(daemon.log.suffix(2000))")
    }

    /// Mid-handshake with a coordinator that accepted the TCP connection and says nothing, the
    /// daemon stops without sitting out the 10-second handshake timeout (which would have logged
    /// the attempt as failed): the connect gives up as soon as the daemon is told to stop.
    @Test func aDaemonMidHandshakeStopsWithoutWaitingForTheTimeout() async throws {
        let listener = try SilentListener()
        let daemon = try Self.daemonProcess(port: listener.port)
        try await eventually("the daemon connected", timeout: .seconds(30)) { listener.acceptWaiting(keep: true) > 0 }
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit(timeout: .seconds(30)) == 0, "\(daemon.log.suffix(2000))")
        #expect(!daemon.log.contains("connection to coordinator failed"), "\(daemon.log.suffix(2000))")
    }

    // MARK: helpers

    static func configuration(port: Int) -> DaemonConfiguration {
        DaemonConfiguration(
            urls: ["http://127.0.0.1:\(port)"], credential: .preSharedKey("nobody-checks"), provisioners: ["echo"],
            tags: [:], name: "d-signals-\(UUID().uuidString.prefix(8))", version: "test"
        )
    }

    static func daemonProcess(port: Int) throws -> CoordinatorProcess {
        try CoordinatorProcess([
            "provisionerd", "start", "--url", "http://127.0.0.1:\(port)", "--psk", "nobody-checks",
            "--name", "d-signals-\(UUID().uuidString.prefix(8))",
        ])
    }
}

private final class DoneFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A listening TCP socket on loopback (a port the kernel picks) that never says a word: it takes
/// the connections waiting and either holds them open or closes them at once.
private final class SilentListener: Sendable {
    let fd: Int32
    let port: Int
    private let held = Mutex<[Int32]>([])

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, listen(fd, 16) == 0, named == 0, fcntl(fd, F_SETFL, O_NONBLOCK) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TestSetupError("cannot listen on loopback: \(reason)")
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: local.sin_port))
    }

    /// Accepts every connection waiting (without blocking) and says how many there were.
    func acceptWaiting(keep: Bool) -> Int {
        var count = 0
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return count }
            count += 1
            if keep { held.withLock { $0.append(client) } } else { close(client) }
        }
    }

    deinit {
        for client in held.withLock({ $0 }) { close(client) }
        close(fd)
    }
}

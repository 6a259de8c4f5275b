import Foundation
import Logging
import NIOHTTP1
import NIOSSL
import ProvisionerProtocol
import Synchronization
import WebSocket

public struct DaemonConfiguration: Sendable {
    public enum Credential: Sendable {
        case preSharedKey(String)
        case sessionToken(String)
    }

    /// Coordinator base URLs (`http(s)://host:port`); the daemon moves to the next when one is down.
    public var urls: [String]
    /// Organization id or name; `default` is the default organization.
    public var organization: String
    public var credential: Credential
    public var provisioners: [String]
    public var tags: [String: String]
    public var name: String
    /// Picked once per process and sent on every connection: it tells a reconnect of this process
    /// (which replaces its older connection at once) from another process using the same name.
    public var instanceID: String
    public var version: String
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    public var tlsConfiguration: TLSConfiguration?

    public init(urls: [String], organization: String = "default", credential: Credential, provisioners: [String], tags: [String: String], name: String, instanceID: String = UUID().uuidString.lowercased(), version: String, initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .seconds(5), tlsConfiguration: TLSConfiguration? = nil) {
        self.urls = urls
        self.organization = organization
        self.credential = credential
        self.provisioners = provisioners
        self.tags = tags
        self.name = name
        self.instanceID = instanceID
        self.version = version
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.tlsConfiguration = tlsConfiguration
    }

    /// The WebSocket URL of the serve endpoint on `base`.
    func serveURL(_ base: String) -> String {
        var url = base.hasSuffix("/") ? String(base.dropLast()) : base
        if url.hasPrefix("https://") { url = "wss://" + url.dropFirst("https://".count) }
        else if url.hasPrefix("http://") { url = "ws://" + url.dropFirst("http://".count) }
        var query = URLComponents()
        query.queryItems = provisioners.map { URLQueryItem(name: "provisioner", value: $0) }
            + tags.sorted { $0.key < $1.key }.map { URLQueryItem(name: "tag", value: "\($0.key)=\($0.value)") }
            + [URLQueryItem(name: "name", value: name), URLQueryItem(name: ProvisionerServe.instanceIDParameter, value: instanceID)]
        let encoded = query.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B") ?? ""
        return "\(url)\(ProvisionerServe.path(organization: organization))?\(encoded)"
    }
}

/// An external provisioner daemon: connects to a coordinator, takes jobs and runs them with its
/// provisioners. A job outlives its connection: after a reconnect (to the same URL or the next)
/// the daemon resumes it with its lease and carries on. On `shutdown()` it follows
/// `DaemonShutdown` in whatever state it is: with no job it returns from `run()` at once (also
/// while it cannot connect), with a job it interrupts it and reports it failed first; it
/// acquires nothing more.
public final class ProvisionerDaemon: Sendable {
    private struct State {
        var currentLease: Lease?
        var currentRunner: Task<Void, Never>?
    }

    public let configuration: DaemonConfiguration
    private let provisioners: [String: any Provisioner]
    /// Sent in `hello`, shown in the daemons list.
    private let provisionerVersions: [String: String]
    private let logger: Logger
    private let link: CoordinatorLink
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)
    /// The latest `welcome`'s `job_hang_timeout_ms` (0: not said).
    private let jobHangTimeoutMS = Atomic<Int64>(0)
    private let finished = Atomic<Bool>(false)

    public init(configuration: DaemonConfiguration, provisioners: [any Provisioner] = [EchoProvisioner()], logger: Logger = Logger(label: "provisionerd")) {
        self.configuration = configuration
        self.provisioners = Dictionary(uniqueKeysWithValues: provisioners.map { ($0.name, $0) })
        // Echo is the daemon itself; Terraform says its own version.
        self.provisionerVersions = Dictionary(uniqueKeysWithValues: provisioners.map { provisioner in
            (provisioner.name, (provisioner as? TerraformProvisioner)?.configuration.version ?? configuration.version)
        })
        self.logger = logger
        self.link = CoordinatorLink()
    }

    /// Runs until `shutdown()` has been called and the current job (if any) has ended.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.connectionLoop() }
            await self.workLoop()
            finished.store(true, ordering: .sequentiallyConsistent)
            group.cancelAll()
        }
    }

    /// Stops acquiring and applies `DaemonShutdown`: `run()` returns at once without a job, after
    /// the job in hand otherwise. Safe to call in any state, from any thread, more than once.
    public func shutdown() {
        guard !stopping.exchange(true, ordering: .sequentiallyConsistent) else { return }
        let (link, logger) = (self.link, self.logger)
        Task {
            switch await link.stop() {
            case .exitNow:
                logger.notice("shutting down: no job in hand, exiting")
            case .withdrawAcquire(let id):
                logger.notice("shutting down: withdrawing the waiting acquire; exiting unless the coordinator has just handed over a job", metadata: ["request": "\(id)"])
            case .interruptJob(let job):
                logger.notice("shutting down: interrupting the current job, acquiring no more", metadata: ["job": "\(job)"])
                self.state.withLock { $0.currentRunner }?.cancel()
            }
        }
    }

    // MARK: connections

    private func connectionLoop() async {
        var backoff = configuration.initialBackoff
        var index = 0
        while !Task.isCancelled && !finished.load(ordering: .sequentiallyConsistent) {
            let base = configuration.urls[index % configuration.urls.count]
            do {
                try await serve(base)
                backoff = configuration.initialBackoff
            } catch is CancellationError {
                return
            } catch WebSocketClientHandshake.Failure.unexpectedStatus(let status) where status == .conflict {
                // Not a fault of this URL: the name is taken. Keep trying (the other process may be
                // one of ours that has just died), but say what to do.
                logger.error(
                    "the coordinator refused this daemon's name: another process is connected under it, or it belongs to another owner; give this daemon its own --name",
                    metadata: ["url": "\(base)", "name": "\(configuration.name)"]
                )
                backoff = configuration.maximumBackoff
            } catch WebSocketClientHandshake.Failure.unexpectedStatus(let status) where status == .tooManyRequests {
                // A cap: the user's or the organization's connected daemons (the same on every
                // replica), or this address's connections to that replica (another may have room).
                logger.error(
                    "the coordinator refused this daemon: too many daemons are connected for its user or organization, or too many connections come from this address; retrying",
                    metadata: ["url": "\(base)", "name": "\(configuration.name)"]
                )
                backoff = configuration.maximumBackoff
                index += 1
            } catch {
                logger.warning("connection to coordinator failed", metadata: ["url": "\(base)", "error": "\(error)"])
                index += 1 // try the next URL
            }
            await link.detach()
            if Task.isCancelled || finished.load(ordering: .sequentiallyConsistent) { return }
            // Capped exponential backoff with full jitter.
            let jittered = Duration.nanoseconds(Int64.random(in: 0...max(1, backoff.nanoseconds)))
            try? await Task.sleep(for: jittered)
            backoff = min(backoff * 2, configuration.maximumBackoff)
        }
    }

    private func serve(_ base: String) async throws {
        var headers = HTTPHeaders()
        switch configuration.credential {
        case .preSharedKey(let key): headers.add(name: ProvisionerServe.pskHeader, value: key)
        case .sessionToken(let token): headers.add(name: ProvisionerServe.sessionTokenHeader, value: token)
        }
        headers.add(name: ProvisionerServe.buildVersionHeader, value: configuration.version)
        let connection = try await WebSocketClient.connect(
            to: configuration.serveURL(base), headers: headers,
            // The largest job the coordinator can hand out (ProvisionerLimits).
            configuration: WebSocketConfiguration(maxMessageSize: ProvisionerLimits.maxMessageBytes, pingInterval: .seconds(15), pingTimeout: .seconds(30)),
            tlsConfiguration: configuration.tlsConfiguration
        )
        try await connection.run { inbound, outbound in
            // Once this connection's reader has ended, a send on it fails at once: a request sent
            // just after the reader's `detach` (below), such as a `resume` racing the close, would
            // otherwise be queued on a closing connection, dropped, and never answered.
            let readerEnded = ConnectionEnded()
            let send: @Sendable (String) async throws -> Void = {
                guard !readerEnded.isSet else { throw CoordinatorLink.Disconnected() }
                try await outbound.send(text: $0)
            }
            let (welcomes, welcomed) = AsyncStream<Welcome?>.makeStream()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var ending: any Error = CoordinatorLink.Disconnected()
                    do {
                        var first = true
                        for try await message in inbound {
                            guard case .text(let text) = message else { throw ProvisionerFailure("the coordinator sent a binary message") }
                            let decoded = try ProvisionerCoding.decodeCoordinatorMessage(text)
                            if first {
                                first = false
                                if case .welcome(let welcome) = decoded { welcomed.yield(welcome) } else { welcomed.yield(nil) }
                                continue
                            }
                            if case .cancel(let jobID) = decoded, self.state.withLock({ $0.currentLease?.jobID == jobID }) {
                                self.logger.notice("job canceled by the coordinator", metadata: ["job": "\(jobID)"])
                                self.state.withLock { $0.currentRunner }?.cancel()
                            }
                            await self.link.deliver(decoded)
                        }
                    } catch {
                        ending = error
                    }
                    // Whatever ended the reader (the connection closed, a binary or undecodable
                    // message, cancellation), nothing more will be answered on this connection: end
                    // every wait on it here. The body below waits for `welcome` and then for the
                    // answer to `resume` before it gets to `group.next()`, and connectionLoop's
                    // `detach` runs only once `serve` has returned, so without this a connection
                    // lost at either point left the daemon waiting for ever, job and all.
                    // Detaching here is safe: this task ends before `serve` returns, so before the
                    // next connection can attach (this never detaches a later connection); it
                    // drops the acquire on the wire and fails pending requests with
                    // `Disconnected`, as connectionLoop's `detach` would (which then finds nothing
                    // left); and it leaves the waiters for a connection waiting for the next one.
                    readerEnded.set()
                    welcomed.finish()
                    await self.link.detach()
                    throw ending
                }
                try await send(ProvisionerCoding.encode(DaemonMessage.hello(Hello(daemonVersion: configuration.version, provisionerVersions: provisionerVersions))))
                var iterator = welcomes.makeAsyncIterator()
                guard let answer = await iterator.next(), let welcome = answer else {
                    throw ProvisionerFailure("the coordinator did not answer hello with welcome")
                }
                logger.info("connected", metadata: ["url": "\(base)", "daemon_id": "\(welcome.daemonID)", "replica": "\(welcome.replicaID)"])
                jobHangTimeoutMS.store(max(0, welcome.jobHangTimeoutMS ?? 0), ordering: .sequentiallyConsistent)
                // A job in hand is resumed before anything else is sent on this connection.
                if let lease = state.withLock({ $0.currentLease }) {
                    let reply = try await link.requestDirect(send: send) { .resume(id: $0, lease: lease) }
                    if case .job = reply {
                        logger.info("resumed job after reconnecting", metadata: ["job": "\(lease.jobID)"])
                    } else {
                        logger.warning("could not resume job; abandoning it", metadata: ["job": "\(lease.jobID)", "reply": "\(reply)"])
                        state.withLock { $0.currentRunner }?.cancel()
                    }
                }
                await link.attach(send)
                // The reader may have ended (and detached) just before this attach: undo it, or
                // requests would go to a dead connection until connectionLoop detaches, which
                // may be a close timeout away. (The reader sets the flag before its `detach`.)
                if readerEnded.isSet { await link.detach() }
                // Until the reader ends: the connection closed (reconnect) or we were cancelled.
                try await group.next()
                group.cancelAll()
            }
        }
    }

    // MARK: work

    /// Acquires and runs one job at a time until `shutdown()`. Without a job it is always inside
    /// `link.acquire()`, which `shutdown()` ends (see `DaemonShutdown`), whatever the connection.
    private func workLoop() async {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let reply: CoordinatorMessage
            do {
                reply = try await link.acquire()
            } catch is CoordinatorLink.Stopped {
                return
            } catch {
                continue // disconnected while waiting: ask again on the next connection (unless stopping)
            }
            // `acquire_canceled` (the shutdown withdrew it) or an error: the loop decides again.
            guard case .job(_, let job) = reply else { continue }
            await runJob(job)
        }
    }

    /// How a job interrupted by the daemon's own shutdown ends (`DaemonShutdown`).
    static let interruptedByShutdown = "interrupted: the provisioner daemon was stopped while running this job"

    private func runJob(_ job: AcquiredJob) async {
        logger.info("running job", metadata: ["job": "\(job.lease.jobID)", "type": "\(job.type)"])
        let runner = Task {
            let lease = job.lease
            let progress = LinkProgress(link: link, lease: lease) { [self] in
                let milliseconds = jobHangTimeoutMS.load(ordering: .sequentiallyConsistent)
                return milliseconds > 0 ? .milliseconds(milliseconds) : nil
            }
            let outcome: DaemonMessage
            do {
                guard let provisioner = provisioners[job.provisioner] else {
                    throw ProvisionerFailure("this daemon has no \(job.provisioner) provisioner")
                }
                let input = ProvisionerJobInput(
                    jobID: lease.jobID, type: job.type, archive: Array(Data(base64Encoded: job.archive) ?? Data()),
                    transition: job.transition, state: job.state.flatMap { Data(base64Encoded: $0) }.map(Array.init),
                    workspace: job.workspace, variables: job.variables ?? []
                )
                let result = try await provisioner.run(input, progress: progress)
                // A state the coordinator would refuse fails the job here, with a reason, instead
                // of a message it cannot take.
                if let state = result.state, ProvisionerLimits.base64Length(ProvisionerLimits.maxStateBytes) < state.utf8.count {
                    throw ProvisionerFailure("the provisioner's state is larger than the \(ProvisionerLimits.maxStateBytes) bytes a coordinator accepts")
                }
                outcome = .complete(id: 0, lease: lease, result: result)
            } catch let failure as ProvisionerFailure {
                outcome = .fail(id: 0, lease: lease, error: stopping.load(ordering: .sequentiallyConsistent) && failure.message == "canceled" ? Self.interruptedByShutdown : failure.message, state: failure.state)
            } catch is CancellationError {
                outcome = .fail(id: 0, lease: lease, error: stopping.load(ordering: .sequentiallyConsistent) ? Self.interruptedByShutdown : "canceled", state: nil)
            } catch {
                outcome = .fail(id: 0, lease: lease, error: "\(error)", state: nil)
            }
            // The outcome goes out even when the runner was cancelled (that is how a canceled job ends).
            _ = await Task { await progress.send { id in
                switch outcome {
                case .complete(_, let lease, let result): .complete(id: id, lease: lease, result: result)
                case .fail(_, let lease, let error, let state): .fail(id: id, lease: lease, error: error, state: state)
                default: outcome
                }
            } }.value
        }
        state.withLock {
            $0.currentLease = job.lease
            $0.currentRunner = runner
        }
        // Handed over while the daemon was being stopped (the withdrawn acquire's answer was a job):
        // interrupted at once, as the shutdown rule says.
        if stopping.load(ordering: .sequentiallyConsistent) { runner.cancel() }
        await runner.value
        state.withLock {
            $0.currentLease = nil
            $0.currentRunner = nil
        }
        await link.forget(job.lease.jobID)
        logger.info("job finished", metadata: ["job": "\(job.lease.jobID)"])
    }

}

/// Set once a connection's reader has ended (see `serve`).
private final class ConnectionEnded: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// Progress of one job, sent over whatever connection is current.
private struct LinkProgress: ProvisionerProgress {
    let link: CoordinatorLink
    let lease: Lease
    let currentHangTimeout: @Sendable () -> Duration?

    var jobHangTimeout: Duration? { currentHangTimeout() }

    /// Sends a request, again after every reconnect, until it is answered. Nil when the lease
    /// is stale (the job ended elsewhere) or the runner was cancelled.
    func send(_ make: @escaping @Sendable (Int64) -> DaemonMessage) async -> CoordinatorMessage? {
        while !Task.isCancelled {
            do {
                let reply = try await link.request(make)
                if case .error(_, .staleLease, _) = reply { return nil }
                return reply
            } catch {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return nil
    }

    func log(_ lines: [LogLine]) async throws -> Bool {
        guard let reply = await send({ .update(id: $0, lease: lease, logs: lines) }) else { throw CancellationError() }
        if case .updated(_, true) = reply { await link.markCanceled(lease.jobID) }
        return await link.isCanceled(lease.jobID) || Task.isCancelled
    }

    func commitQuota(dailyCost: Int64) async throws -> Bool {
        guard let reply = await send({ .commitQuota(id: $0, lease: lease, dailyCost: dailyCost) }) else { throw CancellationError() }
        switch reply {
        case .quota(_, let ok, let consumed, let budget):
            // Coder's lines, so that a user sees in the build log why a build was refused.
            var lines = [
                LogLine(stage: "Commit quota", output: "Build cost — \(dailyCost)"),
                LogLine(stage: "Commit quota", output: "Budget — \(budget)"),
                LogLine(stage: "Commit quota", output: "Credits consumed — \(consumed)"),
            ]
            if !ok { lines.append(LogLine(level: "warn", stage: "Commit quota", output: "This build would exceed your quota. Failing.")) }
            _ = try await log(lines)
            return ok
        case .error(_, _, let message):
            throw ProvisionerFailure("commit quota: \(message)")
        default:
            throw ProvisionerFailure("commit quota: unexpected answer from the coordinator")
        }
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

import CLibPQ
import Foundation
import Logging
import Synchronization

/// What a `Listener` tells its subscribers.
public enum ListenerEvent: Sendable, Equatable {
    /// A NOTIFY on a channel this listener LISTENs to.
    case notification(channel: String, payload: String)
    /// The connection was (re)established and every channel LISTENed again. Notifications sent while
    /// it was down are lost: subscribers must re-read whatever state they follow.
    case resync
}

/// LISTEN/NOTIFY on a dedicated connection owned by a dedicated thread. The thread sleeps in
/// `poll` on the connection's socket and a wake-up pipe, so a notification is delivered as soon as
/// it arrives, with no polling interval. When the connection drops, it reconnects with capped
/// exponential backoff, LISTENs every channel again and sends `.resync` to every subscriber.
public final class Listener: Sendable {
    public struct Configuration: Sendable {
        public var connectionString: String
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        public init(connectionString: String, initialBackoff: Duration = .milliseconds(50), maximumBackoff: Duration = .seconds(2)) {
            self.connectionString = connectionString
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    private struct State {
        var channels: Set<String> = []
        /// Channels added or removed since the thread last synchronized its connection.
        var pendingListen: [String] = []
        var pendingUnlisten: [String] = []
        var subscribers: [UInt64: AsyncStream<ListenerEvent>.Continuation] = [:]
        var nextSubscriberID: UInt64 = 0
        var connected = false
        var backendPID: Int32 = 0
        var started = false
    }

    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let finished = Mutex<[CheckedContinuation<Void, Never>]?>([])

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "postgres.listener")) {
        self.configuration = configuration
        self.logger = logger
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe() failed")
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Starts the listening thread. It keeps trying to connect until `stop()`.
    public func start() {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { return }
        let thread = Thread { [self] in run() }
        thread.name = "postgres-listener"
        thread.start()
    }

    /// Stops the thread, closes the connection and finishes every subscriber's stream.
    public func stop() async {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake()
        let started = state.withLock { $0.started }
        guard started else { finishSubscribers(); return }
        await withCheckedContinuation { continuation in
            let done = finished.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    public var isConnected: Bool { state.withLock { $0.connected } }

    /// The backend serving the LISTEN connection (to find it in `pg_stat_activity`), 0 when down.
    public var backendPID: Int32 { state.withLock { $0.backendPID } }

    public func listen(_ channel: String) {
        let added = state.withLock { state in
            guard state.channels.insert(channel).inserted else { return false }
            state.pendingListen.append(channel)
            return true
        }
        if added { wake() }
    }

    public func unlisten(_ channel: String) {
        let removed = state.withLock { state in
            guard state.channels.remove(channel) != nil else { return false }
            state.pendingUnlisten.append(channel)
            return true
        }
        if removed { wake() }
    }

    /// A new stream of every event from now on. The stream buffers up to `bufferSize` events; when a
    /// subscriber falls further behind, the oldest are dropped and a `.resync` takes their place.
    public func subscribe(bufferSize: Int = 4096) -> AsyncStream<ListenerEvent> {
        let (stream, continuation) = AsyncStream<ListenerEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        let id = state.withLock { state in
            state.nextSubscriberID += 1
            state.subscribers[state.nextSubscriberID] = continuation
            return state.nextSubscriberID
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }

    private func broadcast(_ event: ListenerEvent) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for continuation in subscribers {
            if case .dropped = continuation.yield(event) {
                // A full buffer lost an event: make sure the subscriber learns it must resync.
                continuation.yield(.resync)
            }
        }
    }

    private func finishSubscribers() {
        let subscribers = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in subscribers { continuation.finish() }
    }

    // MARK: the listening thread

    private func run() {
        var backoff = configuration.initialBackoff
        var everConnected = false
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection(connectionString: configuration.connectionString)
                let channels = state.withLock { state in
                    state.pendingListen.removeAll()
                    state.pendingUnlisten.removeAll()
                    return state.channels
                }
                for channel in channels { try connection.execute("LISTEN \(Self.quoted(channel))") }
            } catch {
                logger.warning("listener cannot connect, retrying", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
                sleepInterruptibly(backoff)
                backoff = min(backoff * 2, configuration.maximumBackoff)
                continue
            }
            backoff = configuration.initialBackoff
            state.withLock {
                $0.connected = true
                $0.backendPID = connection.backendPID
            }
            if everConnected { logger.info("listener reconnected") }
            everConnected = true
            // Also on the first connection: a subscriber that started before it may have missed state.
            broadcast(.resync)
            serve(connection)
            state.withLock {
                $0.connected = false
                $0.backendPID = 0
            }
            connection.close()
        }
        finishSubscribers()
        let waiters = finished.withLock { waiters in
            defer { waiters = nil }
            return waiters ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Delivers notifications until the connection breaks or the listener stops.
    private func serve(_ connection: PostgresConnection) {
        guard let handle = connection.handle else { return }
        while !stopping.load(ordering: .sequentiallyConsistent) {
            do {
                try applyPendingChannels(connection)
            } catch {
                logger.warning("listener lost its connection", metadata: ["error": "\(error)"])
                return
            }
            var fds = [
                pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 { if errno == EINTR { continue } else { return } }
            if fds[1].revents != 0 { drainWakePipe() }
            if fds[0].revents != 0 {
                if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
                    logger.warning("listener lost its connection", metadata: ["error": "\(PostgresConnection.trimmed(PQerrorMessage(handle)))"])
                    return
                }
                while let notify = PQnotifies(handle) {
                    let channel = String(cString: notify.pointee.relname)
                    let payload = String(cString: notify.pointee.extra)
                    PQfreemem(notify)
                    broadcast(.notification(channel: channel, payload: payload))
                }
            }
        }
    }

    private func applyPendingChannels(_ connection: PostgresConnection) throws {
        let (listen, unlisten) = state.withLock { state in
            defer {
                state.pendingListen.removeAll()
                state.pendingUnlisten.removeAll()
            }
            return (state.pendingListen, state.pendingUnlisten)
        }
        for channel in unlisten { try connection.execute("UNLISTEN \(Self.quoted(channel))") }
        for channel in listen { try connection.execute("LISTEN \(Self.quoted(channel))") }
    }

    private func sleepInterruptibly(_ duration: Duration) {
        let milliseconds = Int32(clamping: duration.components.seconds &* 1000 &+ duration.components.attoseconds / 1_000_000_000_000_000)
        var fd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        if poll(&fd, 1, milliseconds) > 0 { drainWakePipe() }
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

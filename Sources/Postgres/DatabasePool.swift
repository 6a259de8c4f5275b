import DequeModule
import Foundation
import Logging
import NIOCore
import NIOPosix

/// A bounded pool of `DatabaseConnection`s. Connections open lazily, up to `maximumConnections`;
/// a caller waits at most `acquireTimeout` for one; a connection that broke is closed and replaced.
public actor DatabasePool {
    public struct Configuration: Sendable {
        public var connectionString: String
        public var maximumConnections: Int
        public var acquireTimeout: Duration
        /// Told how long each acquisition waited for a connection (opening one included): the
        /// pool-wait metric.
        public var observeWait: (@Sendable (Duration) -> Void)?

        public init(
            connectionString: String, maximumConnections: Int = 10, acquireTimeout: Duration = .seconds(10),
            observeWait: (@Sendable (Duration) -> Void)? = nil
        ) {
            self.connectionString = connectionString
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
            self.observeWait = observeWait
        }
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<DatabaseConnection, any Error>
    }

    public nonisolated let configuration: Configuration
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private var idle: [DatabaseConnection] = []
    private var openCount = 0
    private var waiters = Deque<Waiter>()
    private var nextWaiterID: UInt64 = 0
    private var closed = false

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "postgres.pool")) {
        precondition(configuration.maximumConnections > 0)
        self.configuration = configuration
        self.logger = logger
        // One thread per connection: each runs blocking libpq calls for exactly one connection.
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.maximumConnections)
    }

    /// Opens one connection now, so that a wrong URL fails at start rather than at the first request.
    public func check() async throws {
        let connection = try await acquire()
        await release(connection)
    }

    /// Lends a connection to `body` and takes it back afterwards, whatever happens.
    public nonisolated func withConnection<T: Sendable>(
        _ body: (DatabaseConnection) async throws -> T
    ) async throws -> T {
        let connection = try await acquire()
        do {
            let value = try await body(connection)
            await release(connection)
            return value
        } catch {
            await release(connection)
            throw error
        }
    }

    @discardableResult
    public nonisolated func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        try await withConnection { try await $0.query(sql, parameters) }
    }

    /// Sends a NOTIFY (the other half of `Listener`); delivered when the statement commits.
    public nonisolated func notify(_ channel: String, _ payload: String) async throws {
        try await query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Runs `body` in a transaction; serialization failures and deadlocks are retried up to
    /// `maxAttempts` times with a short randomized backoff.
    public nonisolated func withTransaction<T: Sendable>(
        isolation: TransactionIsolation = .readCommitted,
        maxAttempts: Int = 3,
        _ body: @Sendable (isolated DatabaseConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try await connection.withTransaction(isolation: isolation, body)
                }
            } catch let error as PostgresError where error.isRetryableTransactionFailure && attempt < maxAttempts {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...10) * attempt))
            }
        }
    }

    func acquire() async throws -> DatabaseConnection {
        guard let observeWait = configuration.observeWait else { return try await acquireConnection() }
        let clock = ContinuousClock(), start = clock.now
        let connection = try await acquireConnection()
        observeWait(clock.now - start)
        return connection
    }

    private func acquireConnection() async throws -> DatabaseConnection {
        if closed { throw PostgresError(.closed, "the database pool is closed") }
        if let connection = idle.popLast() {
            do {
                try await connection.ensureConnected()
                return connection
            } catch {
                openCount -= 1
                await connection.close()
                throw error
            }
        }
        if openCount < configuration.maximumConnections {
            openCount += 1
            let connection = DatabaseConnection(loop: group.next(), connectionString: configuration.connectionString)
            do {
                try await connection.ensureConnected()
                return connection
            } catch {
                openCount -= 1
                handOffCapacity()
                throw error
            }
        }
        return try await waitForConnection()
    }

    private func waitForConnection() async throws -> DatabaseConnection {
        nextWaiterID += 1
        let id = nextWaiterID
        let timeout = configuration.acquireTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.expire(waiter: id)
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append(Waiter(id: id, continuation: continuation))
            }
        } onCancel: {
            Task { await self.cancel(waiter: id) }
        }
    }

    private func expire(waiter id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiter.continuation.resume(throwing: PostgresError(
            .poolTimeout,
            "timed out after \(configuration.acquireTimeout) waiting for a database connection (all \(configuration.maximumConnections) in use)"
        ))
    }

    private func cancel(waiter id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    func release(_ connection: DatabaseConnection) async {
        let broken = await connection.isBroken
        if closed || broken {
            await connection.close()
            openCount -= 1
            handOffCapacity()
            return
        }
        if let waiter = waiters.popFirst() {
            // Hand it over checked: a backend that died while idle is replaced first.
            do {
                try await connection.ensureConnected()
                waiter.continuation.resume(returning: connection)
            } catch {
                openCount -= 1
                waiter.continuation.resume(throwing: error)
                // The slot is free again: the next waiter tries it, rather than waiting for a
                // release that may never come (the database is away, every connection broke).
                handOffCapacity()
            }
            return
        }
        idle.append(connection)
    }

    /// A slot freed up: open a new connection for the first waiter, if any.
    private func handOffCapacity() {
        guard !closed, let waiter = waiters.popFirst() else { return }
        openCount += 1
        let connection = DatabaseConnection(loop: group.next(), connectionString: configuration.connectionString)
        Task {
            do {
                try await connection.ensureConnected()
                waiter.continuation.resume(returning: connection)
            } catch {
                self.connectionFailed()
                waiter.continuation.resume(throwing: error)
            }
        }
    }

    /// An open for a waiter failed: its slot goes to the next waiter at once (each hears the
    /// database's error, none waits out the acquire timeout behind a connection never made).
    private func connectionFailed() {
        openCount -= 1
        handOffCapacity()
    }

    /// Closes idle connections and fails waiters; connections in use close when returned.
    public func close() async {
        guard !closed else { return }
        closed = true
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(.closed, "the database pool is closed"))
        }
        waiters.removeAll()
        for connection in idle { await connection.close() }
        openCount -= idle.count
        idle.removeAll()
        try? await group.shutdownGracefully()
    }

    /// For tests and health: how many connections are open and idle, and how many callers wait.
    public var statistics: (open: Int, idle: Int, waiting: Int) { (openCount, idle.count, waiters.count) }
}

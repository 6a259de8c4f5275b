import Foundation
import NIOCore

/// One pooled connection. An actor whose executor is a thread of the database event-loop group,
/// so every blocking libpq call runs there, never on the cooperative pool or an HTTP event loop.
public actor DatabaseConnection {
    private let loop: any EventLoop
    private let connectionString: String
    private var connection: PostgresConnection?
    private var inTransaction = false

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        loop.executor.asUnownedSerialExecutor()
    }

    init(loop: any EventLoop, connectionString: String) {
        self.loop = loop
        self.connectionString = connectionString
    }

    /// Opens the libpq connection if there is none, or replaces one the server has dropped.
    func ensureConnected() throws {
        if let connection, connection.checkIdleHealth() { return }
        connection?.close()
        connection = nil
        connection = try PostgresConnection(connectionString: connectionString)
    }

    var isBroken: Bool { connection?.isBroken ?? true }

    func close() {
        connection?.close()
        connection = nil
    }

    /// Runs one statement with `$1…$n` bound to `parameters`.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> PostgresResult {
        guard let connection else { throw PostgresError(.connection, "connection is closed") }
        return try connection.query(sql, parameters.map(\.postgresParameter))
    }

    /// `NOTIFY channel, payload`; inside a transaction it is delivered at commit, not before.
    public func notify(_ channel: String, _ payload: String) throws {
        try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Runs statements without parameters, several at once if separated by semicolons.
    @discardableResult
    public func execute(_ sql: String) throws -> PostgresResult {
        guard let connection else { throw PostgresError(.connection, "connection is closed") }
        return try connection.execute(sql)
    }

    public var backendPID: Int32 { connection?.backendPID ?? 0 }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    public func withTransaction<T: Sendable>(
        isolation: TransactionIsolation = .readCommitted,
        _ body: @Sendable (isolated DatabaseConnection) async throws -> T
    ) async throws -> T {
        precondition(!inTransaction, "nested transactions are not supported")
        try execute("BEGIN ISOLATION LEVEL \(isolation.sql)")
        inTransaction = true
        defer { inTransaction = false }
        do {
            let value = try await body(self)
            try execute("COMMIT")
            return value
        } catch {
            if connection?.isBroken == false { _ = try? execute("ROLLBACK") }
            throw error
        }
    }
}

public enum TransactionIsolation: Sendable {
    case readCommitted, repeatableRead, serializable

    var sql: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}

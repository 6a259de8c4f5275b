/// Every failure of the data layer. `sqlState` is set whenever the server sent one, so callers can
/// tell a unique violation (23505) from a serialization failure (40001) without parsing messages.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not open a connection, or it broke while in use.
        case connection
        /// The server rejected a statement.
        case server
        /// A value in a row was not what the caller asked for.
        case decoding
        /// No pooled connection became free in time.
        case poolTimeout
        /// The pool or listener was shut down.
        case closed
    }

    public var kind: Kind
    public var message: String
    public var sqlState: String?
    public var detail: String?
    public var constraint: String?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil, constraint: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.constraint = constraint
    }

    public var description: String {
        var text = message
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        return text
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// Serialization failure or deadlock: the transaction may succeed if run again.
    public var isRetryableTransactionFailure: Bool { sqlState == "40001" || sqlState == "40P01" }
}

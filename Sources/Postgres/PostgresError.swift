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
        /// A statement that must yield a row (`require`) yielded none.
        case noRow
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

    /// SQLSTATE 22021 (`character_not_in_repertoire`), what PostgreSQL itself answers for a NUL in text.
    static let nulSQLState = "22021"

    /// A text parameter held U+0000, which PostgreSQL cannot store (refused before it is sent).
    static func nulInText(parameter: Int) -> PostgresError {
        PostgresError(.server, "text parameter $\(parameter) contains the NUL character (U+0000)", sqlState: nulSQLState)
    }

    /// Text the database cannot hold: a NUL in a text parameter (22021), or the `\u0000` escape in
    /// json it was to store as jsonb (22P05, `untranslatable_character`). The input's fault.
    public var isUnstorableText: Bool { sqlState == Self.nulSQLState || sqlState == "22P05" }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// Serialization failure or deadlock: the transaction may succeed if run again.
    public var isRetryableTransactionFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// The database could not be reached or went away (down, restarting, failing over, every
    /// pooled connection busy): the request may succeed later; it is not a bug. SQLSTATE classes
    /// 08 (connection exception) and 57P (operator intervention: shutdown, cannot connect now).
    public var isUnavailable: Bool {
        switch kind {
        case .connection, .poolTimeout, .closed: return true
        case .server, .decoding, .noRow: return sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P") } ?? false
        }
    }

    /// A failed connection attempt that retrying cannot fix: an unknown host name, refused
    /// credentials, a missing role or database, a malformed connection string. libpq reports
    /// these without a SQLSTATE, so they are told apart by its (untranslated) message text; anything
    /// else (refused, timed out, the server starting up or shutting down) may clear by itself.
    public var isPermanentConnectionFailure: Bool {
        guard kind == .connection else { return false }
        if let sqlState, sqlState.hasPrefix("28") || sqlState == "3D000" { return true }
        let permanent = [
            "could not translate host name", "password authentication failed", "authentication failed for user",
            "no pg_hba.conf entry", "does not exist", "no password supplied", "invalid connection option",
            "invalid URI", "missing \"=\"", "invalid sslmode", "invalid integer value",
        ]
        // "Temporary failure in name resolution" is DNS being down, not the name being unknown.
        if message.contains("Temporary failure") { return false }
        return permanent.contains { message.contains($0) }
    }
}

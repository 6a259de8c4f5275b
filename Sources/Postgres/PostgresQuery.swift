/// One statement as a value: its SQL, its parameters, and how one row of its result becomes a
/// `Row`. Written once, it runs the same way on a pool (`pool.all(query)`) and on the connection of
/// a transaction (`connection.all(query)`), so no statement is spelled twice for the two.
public struct PostgresQuery<Row: Sendable>: Sendable {
    public var sql: String
    /// Bound to `$1…$n` in order.
    public var binds: [any PostgresEncodable]
    public var decode: @Sendable (PostgresRow) throws -> Row

    public init(_ sql: String, _ binds: [any PostgresEncodable] = [], decode: @escaping @Sendable (PostgresRow) throws -> Row) {
        self.sql = sql
        self.binds = binds
        self.decode = decode
    }

    /// The same statement, its rows turned into something else.
    public func map<T>(_ transform: @escaping @Sendable (Row) throws -> T) -> PostgresQuery<T> {
        let decode = self.decode
        return PostgresQuery<T>(sql, binds) { try transform(decode($0)) }
    }

    func rows(of result: PostgresResult) throws -> [Row] {
        try result.rows.map(decode)
    }

    func firstRow(of result: PostgresResult) throws -> Row? {
        try result.first.map(decode)
    }
}

extension PostgresQuery where Row == Void {
    /// A statement whose rows, if it has any, nobody reads: run it with `execute`.
    public init(_ sql: String, _ binds: [any PostgresEncodable] = []) {
        self.init(sql, binds) { _ in }
    }
}

extension PostgresQuery where Row: PostgresDecodable {
    /// A statement whose rows are one value each, read from the column `column` (never NULL).
    public init(_ sql: String, _ binds: [any PostgresEncodable] = [], column: String) {
        self.init(sql, binds) { try $0.decode(column, as: Row.self) }
    }
}

extension DatabaseConnection {
    /// Every row of `query`, decoded.
    public func all<Row>(_ query: PostgresQuery<Row>) throws -> [Row] {
        try query.rows(of: self.query(query.sql, query.binds))
    }

    /// The first row of `query`, decoded, or nil if it has none; for statements that yield at
    /// most one row.
    public func one<Row>(_ query: PostgresQuery<Row>) throws -> Row? {
        try query.firstRow(of: self.query(query.sql, query.binds))
    }

    /// Runs `query` for its effect; returns how many rows it inserted, updated, deleted or returned.
    @discardableResult
    public func execute<Row>(_ query: PostgresQuery<Row>) throws -> Int {
        try self.query(query.sql, query.binds).affectedRows
    }
}

extension DatabasePool {
    /// Every row of `query`, decoded, on a pooled connection.
    public nonisolated func all<Row>(_ query: PostgresQuery<Row>) async throws -> [Row] {
        try await withConnection { try await $0.all(query) }
    }

    /// The first row of `query`, decoded, or nil if it has none.
    public nonisolated func one<Row>(_ query: PostgresQuery<Row>) async throws -> Row? {
        try await withConnection { try await $0.one(query) }
    }

    /// Runs `query` for its effect; returns how many rows it touched.
    @discardableResult
    public nonisolated func execute<Row>(_ query: PostgresQuery<Row>) async throws -> Int {
        try await withConnection { try await $0.execute(query) }
    }
}

/// One statement as a value: its SQL with its parameters in place, and how one row of its result
/// becomes a `Row`. Written once, it runs the same way on a pool (`pool.all(query)`) and on the
/// connection of a transaction (`connection.all(query)`), so no statement is spelled twice for the
/// two. Its text is an `SQL` literal, so every value is bound where it is written:
/// `PostgresQuery("SELECT … WHERE id = \(id)", decode: group)`.
public struct PostgresQuery<Row: Sendable>: Sendable {
    public var statement: SQL
    public var decode: @Sendable (PostgresRow) throws -> Row

    public init(_ statement: SQL, decode: @escaping @Sendable (PostgresRow) throws -> Row) {
        self.statement = statement
        self.decode = decode
    }

    /// The same statement, its rows turned into something else.
    public func map<T>(_ transform: @escaping @Sendable (Row) throws -> T) -> PostgresQuery<T> {
        let decode = self.decode
        return PostgresQuery<T>(statement) { try transform(decode($0)) }
    }

    /// This statement's rows in `orderBy` order, `limit` of them (nil: all) after skipping
    /// `offset`, and how many rows it yields before the limit and offset: run both with
    /// `page(_:)`, which reads them in one snapshot. `self` is a SELECT without ORDER BY or LIMIT.
    public func paged(limit: Int?, offset: Int, orderBy: SQL) -> PagedQuery<Row> {
        PagedQuery(
            rows: PostgresQuery("\(statement) ORDER BY \(orderBy) LIMIT \(limit) OFFSET \(offset)", decode: decode),
            total: PostgresQuery<Int>("SELECT count(*) AS total FROM (\(statement)) AS matching", column: "total")
        )
    }

    func rows(of result: PostgresResult) throws -> [Row] {
        try result.rows.map(decode)
    }

    func firstRow(of result: PostgresResult) throws -> Row? {
        try result.first.map(decode)
    }
}

/// A page of a query's rows and the count of all its rows (see `PostgresQuery.paged`).
public struct PagedQuery<Row: Sendable>: Sendable {
    public var rows: PostgresQuery<Row>
    public var total: PostgresQuery<Int>

    public init(rows: PostgresQuery<Row>, total: PostgresQuery<Int>) {
        self.rows = rows
        self.total = total
    }
}

extension PostgresQuery where Row == Void {
    /// A statement whose rows, if it has any, nobody reads: run it with `execute`.
    public init(_ statement: SQL) {
        self.init(statement) { _ in }
    }
}

extension PostgresQuery where Row: PostgresDecodable {
    /// A statement whose rows are one value each, read from the column `column` (never NULL).
    public init(_ statement: SQL, column: String) {
        self.init(statement) { try $0.decode(column, as: Row.self) }
    }
}

extension DatabaseConnection {
    /// Every row of `query`, decoded.
    public func all<Row>(_ query: PostgresQuery<Row>) throws -> [Row] {
        try query.rows(of: run(query.statement))
    }

    /// The first row of `query`, decoded, or nil if it has none; for statements that yield at
    /// most one row.
    public func one<Row>(_ query: PostgresQuery<Row>) throws -> Row? {
        try query.firstRow(of: run(query.statement))
    }

    /// The first row of `query`, which must have one: for the re-read of a row this transaction
    /// has just written. No row is an error (a 500), never a trap.
    public func require<Row>(_ query: PostgresQuery<Row>) throws -> Row {
        guard let row = try one(query) else {
            throw PostgresError(.noRow, "expected a row from: \(query.statement)")
        }
        return row
    }

    /// A page of rows and the total, both read on this connection: run it in a transaction at
    /// REPEATABLE READ (as `DatabasePool.page` does) for the two to agree.
    public func page<Row>(_ query: PagedQuery<Row>) throws -> (rows: [Row], total: Int) {
        let total = try one(query.total) ?? 0
        return (try all(query.rows), total)
    }

    /// Runs `query` for its effect; returns how many rows it inserted, updated, deleted or returned.
    @discardableResult
    public func execute<Row>(_ query: PostgresQuery<Row>) throws -> Int {
        try run(query.statement).affectedRows
    }

    private func run(_ statement: SQL) throws -> PostgresResult {
        let (text, binds) = statement.rendered()
        return try self.query(text, binds)
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

    /// A page of rows and the total of the rows it pages, from one snapshot (one REPEATABLE READ
    /// transaction), so the count never disagrees with the rows a concurrent write moved.
    public nonisolated func page<Row>(_ query: PagedQuery<Row>) async throws -> (rows: [Row], total: Int) {
        try await withTransaction(isolation: .repeatableRead) { try $0.page(query) }
    }

    /// Runs `query` for its effect; returns how many rows it touched.
    @discardableResult
    public nonisolated func execute<Row>(_ query: PostgresQuery<Row>) async throws -> Int {
        try await withConnection { try await $0.execute(query) }
    }
}

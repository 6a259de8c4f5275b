/// One row of a result, values kept in PostgreSQL's text format and decoded on access.
///
/// The Store reads columns by name only (`decode("status")`): a query that gains a column cannot
/// shift the others. Positions are for ad-hoc statements (tests, tools).
public struct PostgresRow: Sendable {
    let columns: PostgresColumns
    let values: [String?]

    public subscript(index: Int) -> String? { values[index] }

    /// Decodes column `index`; a NULL is an error unless `T` is optional.
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard let value = try decode(index, as: T?.self) else {
            throw PostgresError(.decoding, "column \(columns.names[index]) is NULL")
        }
        return value
    }

    public func decode<T: PostgresDecodable>(_ index: Int, as type: T?.Type = T?.self) throws -> T? {
        guard index < values.count else {
            throw PostgresError(.decoding, "column \(index) is out of range (\(values.count) columns)")
        }
        guard let text = values[index] else { return nil }
        do {
            return try T(postgresText: text)
        } catch var error as PostgresError where error.kind == .decoding {
            // The value alone ("cannot read uuid from …") does not say where it came from.
            error.message = "column \(columns.names[index]): \(error.message)"
            throw error
        }
    }

    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try decode(columns.index(of: name), as: type)
    }

    public func decode<T: PostgresDecodable>(_ name: String, as type: T?.Type = T?.self) throws -> T? {
        try decode(columns.index(of: name), as: type)
    }
}

/// Column names of a result, shared by all its rows.
final class PostgresColumns: Sendable {
    let names: [String]
    private let positions: [String: Int]

    init(names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (i, name) in names.enumerated() where positions[name] == nil { positions[name] = i }
        self.positions = positions
    }

    func index(of name: String) throws -> Int {
        guard let index = positions[name] else { throw PostgresError(.decoding, "no column named \(name)") }
        return index
    }
}

/// The outcome of one statement: its rows (if any) and the number of rows it touched.
public struct PostgresResult: Sendable {
    public let rows: [PostgresRow]
    public let affectedRows: Int

    public var first: PostgresRow? { rows.first }
}

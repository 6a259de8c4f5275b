/// The text of a statement with its parameters in place, written as a Swift string literal whose
/// interpolations bind themselves (postgres-nio's `PostgresQuery` is the model):
///
///     let query: SQL = "SELECT name FROM groups WHERE id = \(id) AND organization_id = \(organization)"
///
/// renders as `… WHERE id = $1 AND organization_id = $2` with `id` and `organization` bound in that
/// order, so no placeholder is numbered, and no bind list aligned, by hand. A fragment interpolates
/// into another and its binds are renumbered where it lands (`"SELECT … \(matching) ORDER BY …"`).
/// Text that is not a value — a column chosen from a fixed list — goes in only through
/// `\(unescaped:)`, which a review can find with grep.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Piece: Sendable {
        case text(String)
        case value(any PostgresEncodable)
        /// One value under one placeholder, however often it is interpolated.
        case shared(Bind)
    }

    var pieces: [Piece]

    /// A value bound once and written as the same `$n` wherever it is interpolated, so PostgreSQL
    /// infers its type once (`\(search)::text IS NULL OR name ILIKE '%' || \(search) || '%'`).
    public final class Bind: Sendable {
        let value: any PostgresEncodable

        public init(_ value: some PostgresEncodable) {
            self.value = value
        }
    }

    public init(stringLiteral value: String) {
        pieces = [.text(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        pieces = stringInterpolation.pieces
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var pieces: [Piece] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            pieces.reserveCapacity(2 * interpolationCount + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            if !literal.isEmpty { pieces.append(.text(literal)) }
        }

        /// A value, bound to the next placeholder.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            pieces.append(.value(value))
        }

        /// A value whose type is only known at run time (a list of mixed binds).
        public mutating func appendInterpolation(_ value: any PostgresEncodable) {
            pieces.append(.value(value))
        }

        /// A value shared by every place it is interpolated: see `Bind`.
        public mutating func appendInterpolation(_ bind: Bind) {
            pieces.append(.shared(bind))
        }

        /// Another statement's text and binds, renumbered where it lands.
        public mutating func appendInterpolation(_ fragment: SQL) {
            pieces.append(contentsOf: fragment.pieces)
        }

        /// Text written into the statement as it is. Only for text the program chooses (a column
        /// or an ordering from a fixed list), never for a value that came from outside.
        public mutating func appendInterpolation(unescaped text: String) {
            pieces.append(.text(text))
        }
    }

    /// The fragments one after the other, `separator` between them (`VALUES` lists, `AND` chains).
    public init(joining fragments: some Sequence<SQL>, separator: String) {
        pieces = []
        for (index, fragment) in fragments.enumerated() {
            if index > 0 { pieces.append(.text(separator)) }
            pieces.append(contentsOf: fragment.pieces)
        }
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var joined = lhs
        joined.pieces.append(contentsOf: rhs.pieces)
        return joined
    }

    /// The statement as libpq takes it: the text with `$1…$n`, and the values in that order.
    public func rendered() -> (text: String, binds: [any PostgresEncodable]) {
        var text = ""
        var binds: [any PostgresEncodable] = []
        var sharedNumbers: [ObjectIdentifier: Int] = [:]
        for piece in pieces {
            switch piece {
            case .text(let literal):
                text += literal
            case .value(let value):
                binds.append(value)
                text += "$\(binds.count)"
            case .shared(let bind):
                let key = ObjectIdentifier(bind)
                if let number = sharedNumbers[key] {
                    text += "$\(number)"
                } else {
                    binds.append(bind.value)
                    sharedNumbers[key] = binds.count
                    text += "$\(binds.count)"
                }
            }
        }
        return (text, binds)
    }

    /// The rendered text, for logs and tests; values are not shown.
    public var description: String { rendered().text }
}

import Foundation

/// A value that can be an element of a one-dimensional array parameter or column: `text[]`,
/// `uuid[]`, `timestamptz[]`. Arrays of these bind as array literals (cast them in SQL:
/// `$1::uuid[]`) and decode from PostgreSQL's array output; a NULL element is an error.
public protocol PostgresArrayElement: PostgresEncodable, PostgresDecodable {
    /// The element in PostgreSQL's text format, before it is quoted into an array literal.
    var postgresText: String { get }
}

extension String: PostgresArrayElement {
    public var postgresText: String { self }
}

extension UUID: PostgresArrayElement {
    public var postgresText: String { uuidString.lowercased() }
}

extension Date: PostgresArrayElement {
    public var postgresText: String { PostgresTimestamp.format(self) }
}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public var postgresParameter: PostgresParameter { .text(PostgresTextArray.format(map(\.postgresText))) }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public init(postgresText text: String) throws {
        guard let elements = PostgresTextArray.parse(text) else { throw decodingError("\(Element.self)[]", String(text.prefix(64))) }
        self = try elements.map(Element.init(postgresText:))
    }
}

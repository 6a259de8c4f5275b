/// String enums bind as their raw value and decode from it by conforming to `PostgresEncodable`
/// and `PostgresDecodable` with nothing more. A value the enum does not know is a decoding error
/// (naming the column, see `PostgresRow.decode`), never a silent default: a row the code cannot
/// represent is a bug to hear about, not a status to invent.
extension PostgresEncodable where Self: RawRepresentable, RawValue == String {
    public var postgresParameter: PostgresParameter { .text(rawValue) }
}

extension PostgresDecodable where Self: RawRepresentable, RawValue == String {
    public init(postgresText text: String) throws {
        guard let value = Self(rawValue: text) else { throw decodingError(String(describing: Self.self), text) }
        self = value
    }
}

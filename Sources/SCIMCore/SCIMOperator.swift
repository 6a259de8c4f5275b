/// The binary comparison operators of RFC 7644 §3.4.2.2. `pr` is not here: it takes no value,
/// so it has its own case in `SCIMFilter`.
public enum SCIMOperator: String, Sendable, Equatable, Hashable, CaseIterable, CustomStringConvertible {
    case eq, ne, co, sw, ew, gt, ge, lt, le

    /// Operators are case-insensitive on the wire (`EQ`, `Eq`), so lookup lowercases.
    public init?(keyword: String) {
        self.init(rawValue: keyword.lowercased())
    }

    public var description: String { rawValue }
}

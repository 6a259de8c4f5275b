import Foundation

/// RFC 3339 timestamps with microseconds in UTC (`2024-05-01T12:34:56.123456Z`), the one date
/// format of the product: in SQL parameters and in JSON.
public enum RFC3339 {
    public static func string(from date: Date) -> String { PostgresTimestamp.format(date) }
    public static func date(from string: String) -> Date? { PostgresTimestamp.parse(string) }
}

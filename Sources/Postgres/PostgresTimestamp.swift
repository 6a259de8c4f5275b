import Foundation
import WireFormat

/// timestamptz in text form. Connections run with `DateStyle=ISO` and `TimeZone=UTC`, so the server
/// writes `2024-05-01 12:34:56.123456+00`; we write RFC 3339 with microseconds, which it reads in
/// any style. `RFC3339` reads both.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String { RFC3339.string(from: date) }
    static func parse(_ text: String) -> Date? { RFC3339.date(from: text) }
}

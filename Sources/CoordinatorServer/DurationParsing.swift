import Foundation

/// Durations as written on the command line: `500ms`, `1s`, `1.5s`, `2m`, `1h`, `7d`, or a sum
/// like `1m30s`; nil for anything else. Rounded to the millisecond.
public func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
    var rest = Substring(text.trimmingCharacters(in: .whitespaces))
    guard !rest.isEmpty else { return nil }
    var seconds = 0.0
    while !rest.isEmpty {
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number) else { return nil }
        rest = rest.dropFirst(number.count)
        guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else { return nil }
        rest = rest.dropFirst(unit.count)
        seconds += value * scale
    }
    // Anything past a century is a typo, and would trap on conversion further along.
    guard seconds.isFinite, seconds <= maximumDurationSeconds else { return nil }
    return .milliseconds(Int64((seconds * 1000).rounded()))
}

/// The longest duration `parseDuration` accepts: a century.
public let maximumDurationSeconds = 100.0 * 365 * 24 * 3600

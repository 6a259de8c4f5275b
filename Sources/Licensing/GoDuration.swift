/// A duration written as Go's `time.Duration.String()` does (`1h0m0s`, `2m3.5s`, `1.5ms`),
/// because golang-jwt's "token is expired by …" message, which Coder returns, embeds one.
enum GoDuration {
    static func string(nanoseconds ns: Int64) -> String {
        if ns == 0 { return "0s" }
        let negative = ns < 0
        let magnitude = ns.magnitude
        var text: String
        if magnitude < 1_000_000_000 {
            let (unit, scale): (String, UInt64) =
                magnitude < 1_000 ? ("ns", 1) : magnitude < 1_000_000 ? ("µs", 1_000) : ("ms", 1_000_000)
            text = fraction(magnitude, scale: scale) + unit
        } else {
            let hours = magnitude / 3_600_000_000_000
            let minutes = (magnitude / 60_000_000_000) % 60
            let seconds = fraction(magnitude % 60_000_000_000, scale: 1_000_000_000) + "s"
            text = hours > 0 ? "\(hours)h\(minutes)m\(seconds)" : minutes > 0 ? "\(minutes)m\(seconds)" : seconds
        }
        if negative { text = "-" + text }
        return text
    }

    /// `value / scale` with the remainder as a decimal fraction, trailing zeros dropped.
    private static func fraction(_ value: UInt64, scale: UInt64) -> String {
        let whole = value / scale
        let rest = value % scale
        guard rest > 0 else { return "\(whole)" }
        var digits = String(rest)
        digits = String(repeating: "0", count: String(scale).count - 1 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}

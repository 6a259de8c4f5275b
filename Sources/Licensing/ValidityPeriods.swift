import Foundation

/// The paid terms (`nbf` to `license_expires`) of every valid or pending license, merged into
/// contiguous periods, so that a license renewed without a gap warns of no expiry
/// (coder/coder#19498: one warning per license nagged even when a successor was loaded).
struct ValidityPeriods {
    private var parts: [(start: Date, end: Date)] = []

    mutating func add(_ license: License) {
        let start = license.validFrom, end = license.licenseExpires
        guard start <= end else { return }
        parts.append((start, end))
    }

    /// Overlapping or touching periods merged, in order of start.
    var merged: [(start: Date, end: Date)] {
        var out: [(start: Date, end: Date)] = []
        for part in parts.sorted(by: { $0.start < $1.start }) {
            if let last = out.last, part.start <= last.end {
                out[out.count - 1].end = max(last.end, part.end)
            } else {
                out.append(part)
            }
        }
        return out
    }

    /// `Your license expires in N day(s).` when the first period ends within 30 days (7 for a
    /// trial), days rounded up, as Coder counts them.
    func expiryWarning(now: Date, trial: Bool) -> String? {
        guard let end = merged.first?.end else { return nil }
        // In days before converting, so that a hostile `license_expires` of 1e300 cannot trap.
        let remaining = (end.timeIntervalSince(now) / 86_400).rounded(.up)
        guard remaining > 0, remaining < (trial ? 7 : 30) else { return nil }
        let days = Int(remaining)
        return "Your license expires in \(days) \(days == 1 ? "day" : "days")."
    }
}

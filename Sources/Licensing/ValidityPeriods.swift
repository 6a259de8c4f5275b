import Foundation

/// The paid terms (`nbf` to `license_expires`) of every valid or pending license, merged into
/// contiguous periods, so that a license renewed without a gap warns of no expiry
/// (coder/coder#19498: one warning per license nagged even when a successor was loaded).
struct ValidityPeriods {
    typealias Period = (start: Date, end: Date, trial: Bool)
    private var parts: [Period] = []

    mutating func add(_ license: License) {
        let start = license.validFrom, end = license.licenseExpires
        guard start <= end else { return }
        parts.append((start, end, license.trial))
    }

    /// Overlapping or touching periods merged, in order of start; a merged period is a trial's
    /// when the license that ends it is a trial.
    var merged: [Period] {
        var out: [Period] = []
        for part in parts.sorted(by: { $0.start < $1.start }) {
            if let last = out.last, part.start <= last.end {
                if part.end > last.end { out[out.count - 1] = (last.start, part.end, part.trial) }
            } else {
                out.append(part)
            }
        }
        return out
    }

    /// `Your license expires in N day(s).` when the period that holds `now` ends within 30 days
    /// (7 when a trial ends it), days rounded up, as Coder counts them. A license in its grace
    /// period or one that starts later is not the one running out.
    func expiryWarning(now: Date) -> String? {
        guard let current = merged.first(where: { $0.start <= now && now <= $0.end }) else { return nil }
        let (end, trial) = (current.end, current.trial)
        // In days before converting, so that a hostile `license_expires` of 1e300 cannot trap.
        let remaining = (end.timeIntervalSince(now) / 86_400).rounded(.up)
        guard remaining > 0, remaining < (trial ? 7 : 30) else { return nil }
        let days = Int(remaining)
        return "Your license expires in \(days) \(days == 1 ? "day" : "days")."
    }
}

import Foundation

/// Which live replicas the HA check counts: those that started more than `grace` ago, so that
/// the replacement started by a rolling restart of a one-replica deployment raises no
/// multiple-replicas error while the old one drains (coder/coder#5787, #8665).
public struct HAReplicaCount: Sendable, Equatable {
    public var count: Int
    /// When a replica that is too young to count now will start counting (nil: none will).
    public var changesAt: Date?

    public init(startTimes: [Date], grace: TimeInterval, now: Date) {
        let cutoff = now.addingTimeInterval(-grace)
        count = startTimes.filter { $0 <= cutoff }.count
        changesAt = startTimes.filter { $0 > cutoff }.min().map { $0.addingTimeInterval(grace) }
    }
}

extension LicenseStanding {
    /// The next instant after `now` at which this license's standing changes on its own: it
    /// starts (`nbf`), its term ends and grace begins (`license_expires`), or grace ends (`exp`).
    func nextChange(after now: Date) -> Date? {
        let license: License
        switch self {
        case .valid(let valid), .notYetValid(let valid): license = valid
        case .invalid: return nil
        }
        return [license.notBefore, license.licenseExpires, license.graceEnds].compactMap { $0 }.filter { $0 > now }.min()
    }
}

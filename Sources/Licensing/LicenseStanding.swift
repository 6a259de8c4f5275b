import Foundation

/// A stored license as the entitlements see it, after verification at a given time.
public enum LicenseStanding: Sendable, Equatable {
    case valid(License)
    /// Its `nbf` is still ahead: it grants nothing yet, but its term counts when deciding whether
    /// the current license's expiry is worth a warning (a renewal in place suppresses it).
    case notYetValid(License)
    /// Refused: shown as an entitlements error naming the license's UUID.
    case invalid(uuid: UUID, reason: String)
}

extension LicenseVerifier {
    /// How a stored license stands at `now`. A license that is not valid yet and has another
    /// problem too is dropped (nil) without an error, as Coder drops it.
    public func standing(of jwt: String, uuid: UUID, now: Date) -> LicenseStanding? {
        do {
            return .valid(try verify(jwt, now: now))
        } catch where error.kind == .notValidYet {
            return (try? verify(jwt, now: now, allowingFutureStart: true)).map(LicenseStanding.notYetValid)
        } catch {
            return .invalid(uuid: uuid, reason: error.message)
        }
    }
}

import Foundation
import Logging
import Store
import Synchronization

/// The WebSockets of this replica that a session token opened (daemon sessions, log streams).
/// An upgrade checks the token and the permission the route needed once; this keeps both checked
/// for as long as the socket is open: a revoked key or a suspended user (announced by any replica)
/// closes the user's sockets here at once, and a once-a-second check of every open socket's key,
/// in one query, catches expiry and anything an announcement missed. A change of a user's roles
/// (announced like a status change) re-reads the user's roles and memberships and closes each of
/// their sockets whose permission they no longer have: a template admin demoted to member loses
/// their organization daemon's connection, and keeps their own user daemon's.
public final class AuthenticatedSockets: Sendable {
    public typealias Close = @Sendable (_ reason: String) async -> Void
    /// What the socket's route required of its user, asked again of the user as they are now.
    public typealias Permission = @Sendable (Subject) -> Bool

    struct Entry {
        let apiKeyID: String
        let userID: UUID
        let permission: Permission
        let close: Close
    }

    private struct State {
        var entries: [UUID: Entry] = [:]
        /// When each user's latest status or role change was heard here, so that a socket whose
        /// upgrade was decided before it, and registered after it, is checked again.
        var announced: [UUID: ContinuousClock.Instant] = [:]
        /// Users whose re-check failed (the database away, the pool busy): tried again at every
        /// `check`, so that a permission taken away never stays open for want of one read.
        var pendingRechecks: Set<UUID> = []
        /// `announced` is swept when it has grown past twice its size after the last sweep (at
        /// least 1,024): a burst of changes (a SCIM bulk request) costs linear work, not a sweep
        /// of the whole table per change.
        var sweepAbove = 1024
    }

    private let state = Mutex(State())
    let checkInterval: Duration
    /// Where users' current roles are read for a re-check; nil: permissions are never re-checked.
    private let store: Store?
    private let logger = Logger(label: "api.sockets")

    init(store: Store? = nil, checkInterval: Duration = .seconds(1)) {
        self.store = store
        self.checkInterval = checkInterval
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Registers a socket; returns the handle to remove it with. `permission` is what the route
    /// checked of `subject`; `authenticatedAt` is when `subject` was read (before the route's
    /// decision). If a change of this user was announced since, the permission is checked again
    /// at once, so that a change racing the upgrade is not missed. Without it, any change heard in
    /// the last two minutes counts (an upgrade is decided within the header-read timeout, 60 s at most).
    func register(
        _ subject: Subject, authenticatedAt: ContinuousClock.Instant = ContinuousClock.now - .seconds(120),
        requires permission: @escaping Permission, close: @escaping Close
    ) -> UUID {
        let id = UUID()
        let changedSince: Bool = state.withLock { state in
            state.entries[id] = Entry(apiKeyID: subject.apiKeyID, userID: subject.userID, permission: permission, close: close)
            return state.announced[subject.userID].map { $0 >= authenticatedAt } ?? false
        }
        if changedSince {
            let userID = subject.userID
            Task { await self.recheck(userID: userID) }
        }
        return id
    }

    func remove(_ id: UUID) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    func close(apiKeyID: String, reason: String) async {
        await close(where: { $0.apiKeyID == apiKeyID }, reason: reason)
    }

    func close(userID: UUID, reason: String) async {
        await close(where: { $0.userID == userID }, reason: reason)
    }

    /// Closes the sockets whose keys no longer authenticate.
    func check(store: Store, logger: Logger) async {
        let pending = state.withLock { $0.pendingRechecks }
        if !pending.isEmpty { await recheck(users: pending) }
        let keys = state.withLock { Set($0.entries.values.map(\.apiKeyID)) }
        guard !keys.isEmpty else { return }
        do {
            let live = try await store.liveAPIKeyIDs(Array(keys))
            await close(where: { !live.contains($0.apiKeyID) }, reason: "session token expired or revoked")
        } catch {
            logger.debug("checking the keys of open sockets failed", metadata: ["error": "\(error)"])
        }
    }

    /// A change of `userID`'s status or roles was announced: remembered for sockets still being
    /// registered (see `register`).
    func noteChange(userID: UUID) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.announced[userID] = now
            // An upgrade is decided within the header-read timeout (60 s at most): older entries
            // can no longer race one, and the table stays as small as the recent changes.
            if state.announced.count > state.sweepAbove {
                state.announced = state.announced.filter { now - $0.value < .seconds(120) }
                state.sweepAbove = max(1024, 2 * state.announced.count)
            }
        }
    }

    /// Re-reads `userID`'s roles and memberships and closes each of their sockets whose permission
    /// they no longer have (all of them if the user is gone or suspended).
    func recheck(userID: UUID) async {
        await recheck(users: [userID])
    }

    /// Re-checks every user with an open socket: after a resync, when announcements may have been
    /// lost. Two queries for all of them, however many there are.
    func recheckAll() async {
        await recheck(users: state.withLock { Set($0.entries.values.map(\.userID)) })
    }

    private func recheck(users wanted: Set<UUID>) async {
        guard let store else { return }
        let users = state.withLock { state in
            let open = wanted.intersection(Set(state.entries.values.map(\.userID)))
            // A user with no socket left needs no re-check, pending or not.
            state.pendingRechecks.formIntersection(Set(state.entries.values.map(\.userID)))
            return open
        }
        guard !users.isEmpty else { return }
        do {
            let subjects = try await Authenticator.currentSubjects(userIDs: Array(users), store: store)
            state.withLock { $0.pendingRechecks.subtract(users) }
            // Only the users just read: a socket of anyone else registered meanwhile is not judged here.
            await close(
                where: { entry in users.contains(entry.userID) && !(subjects[entry.userID].map { entry.permission($0) } ?? false) },
                reason: "permission revoked"
            )
        } catch {
            state.withLock { $0.pendingRechecks.formUnion(users) }
            logger.warning("re-checking the permissions of open sockets failed; trying again at the next check", metadata: ["users": "\(users.count)", "error": "\(error)"])
        }
    }

    private func close(where matches: (Entry) -> Bool, reason: String) async {
        let doomed = state.withLock { state in
            let found = state.entries.filter { matches($0.value) }
            for id in found.keys { state.entries.removeValue(forKey: id) }
            return Array(found.values)
        }
        for entry in doomed { await entry.close(reason) }
    }
}

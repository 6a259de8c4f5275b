import Foundation
import Logging
import Store
import Synchronization

/// The WebSockets of this replica that a session token opened (daemon sessions, log streams).
/// An upgrade checks the token once; this keeps it checked for as long as the socket is open:
/// a revoked key or a suspended user (announced by any replica) closes the user's sockets here
/// at once, and a once-a-second check of every open socket's key, in one query, catches expiry
/// and anything an announcement missed.
public final class AuthenticatedSockets: Sendable {
    public typealias Close = @Sendable (_ reason: String) async -> Void

    struct Entry {
        let apiKeyID: String
        let userID: UUID
        let close: Close
    }

    private let entries = Mutex<[UUID: Entry]>([:])
    let checkInterval: Duration

    init(checkInterval: Duration = .seconds(1)) {
        self.checkInterval = checkInterval
    }

    var count: Int { entries.withLock { $0.count } }

    /// Registers a socket; returns the handle to remove it with.
    func register(_ subject: Subject, close: @escaping Close) -> UUID {
        let id = UUID()
        entries.withLock { $0[id] = Entry(apiKeyID: subject.apiKeyID, userID: subject.userID, close: close) }
        return id
    }

    func remove(_ id: UUID) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    func close(apiKeyID: String, reason: String) async {
        await close(where: { $0.apiKeyID == apiKeyID }, reason: reason)
    }

    func close(userID: UUID, reason: String) async {
        await close(where: { $0.userID == userID }, reason: reason)
    }

    /// Closes the sockets whose keys no longer authenticate.
    func check(store: Store, logger: Logger) async {
        let keys = entries.withLock { Set($0.values.map(\.apiKeyID)) }
        guard !keys.isEmpty else { return }
        do {
            let live = try await store.liveAPIKeyIDs(Array(keys))
            await close(where: { !live.contains($0.apiKeyID) }, reason: "session token expired or revoked")
        } catch {
            logger.debug("checking the keys of open sockets failed", metadata: ["error": "\(error)"])
        }
    }

    private func close(where matches: (Entry) -> Bool, reason: String) async {
        let doomed = entries.withLock { entries in
            let found = entries.filter { matches($0.value) }
            for id in found.keys { entries.removeValue(forKey: id) }
            return Array(found.values)
        }
        for entry in doomed { await entry.close(reason) }
    }
}

import Foundation
import Logging
import Pubsub
import Store
import Synchronization

/// The daemon connections this replica holds, and what concerns all of them at once:
///
/// - liveness: one `UPDATE` per interval for every 500 connections here, not one per daemon (ten
///   thousand idle daemons would otherwise be a thousand writes a second);
/// - supersession: a reconnect of the same daemon process (on any replica) announces the
///   connection it replaced, which is closed here at once; the liveness write also finds
///   connections whose daemon row has moved on, in case that announcement was missed;
/// - cancellations: one subscription for the replica, routed to the session holding the job.
public final class DaemonConnections: Sendable {
    public typealias Close = @Sendable (_ reason: String) async -> Void

    private struct Entry {
        let session: DaemonSession
        let close: Close
    }

    private let store: Store
    private let pubsub: Pubsub
    private let livenessInterval: Duration
    private let logger: Logger
    private let entries = Mutex<[UUID: Entry]>([:])

    /// A connection not seen for this long no longer holds its name: another process may take it.
    public var liveness: Duration { livenessInterval * 3 }

    public init(store: Store, pubsub: Pubsub, livenessInterval: Duration = .seconds(10), logger: Logger = Logger(label: "provisioning.connections")) {
        self.store = store
        self.pubsub = pubsub
        self.livenessInterval = livenessInterval
        self.logger = logger
    }

    public var count: Int { entries.withLock { $0.count } }

    public func register(_ session: DaemonSession, close: @escaping Close) {
        entries.withLock { $0[session.identity.connectionID] = Entry(session: session, close: close) }
    }

    public func remove(_ session: DaemonSession) {
        _ = entries.withLock { $0.removeValue(forKey: session.identity.connectionID) }
    }

    /// Follows supersessions and cancellations and writes liveness, until cancelled.
    public func run() async {
        let superseded = pubsub.subscribe(Store.daemonSupersededChannel)
        let canceled = pubsub.subscribe(Store.jobCanceledChannel, bufferSize: 65_536)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in superseded {
                    switch event {
                    case .message(let raw):
                        if let id = UUID(uuidString: raw) { await self.close(id, reason: "replaced by a newer connection of this daemon") }
                    case .resync:
                        await self.writeLiveness()
                    }
                }
            }
            group.addTask {
                for await event in canceled {
                    guard case .message(let raw) = event, let jobID = UUID(uuidString: raw) else { continue }
                    let sessions = self.entries.withLock { $0.values.map(\.session) }
                    for session in sessions { await session.jobCanceled(jobID) }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.livenessInterval)
                    await self.writeLiveness()
                }
            }
        }
    }

    /// Rows per liveness statement: a statement locks its rows until it commits, and an acquire
    /// that updates its daemon's row waits for it. 10,000 rows in one statement held dispatch up
    /// for ~140 ms once per interval (`scripts/bench/idle-daemons`); chunks keep that wait short.
    static let livenessChunk = 500

    /// Marks every connection here as seen; closes those whose daemon has moved to a newer one.
    func writeLiveness() async {
        let ids = entries.withLock { Array($0.keys) }
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(ids.count, start + Self.livenessChunk)])
            start += chunk.count
            do {
                let current = Set(try await store.daemonConnectionsSeen(chunk))
                for id in chunk where !current.contains(id) {
                    await close(id, reason: "replaced by a newer connection of this daemon")
                }
            } catch {
                logger.warning("writing daemon liveness failed", metadata: ["connections": "\(chunk.count)", "error": "\(error)"])
            }
        }
    }

    private func close(_ connectionID: UUID, reason: String) async {
        guard let entry = entries.withLock({ $0[connectionID] }) else { return }
        logger.info("closing a superseded daemon connection", metadata: ["daemon": "\(entry.session.identity.name)", "connection": "\(connectionID)"])
        await entry.close(reason)
    }
}

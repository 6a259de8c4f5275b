import Synchronization

/// Shared between the senders of a connection and its channel handler: how many bytes are
/// queued but not yet written to the socket, and whether sending is over.
///
/// Sends below the budget return without waiting for the event loop, which saves a task hop
/// per message; a send that takes the total past it waits for its own write, so a slow peer
/// still holds senders back and the queue stays bounded.
final class WebSocketSendBudget: Sendable {
    /// Unwritten bytes beyond which a send waits.
    static let limit = 256 * 1024

    let unwritten = Atomic<Int>(0)
    /// Set once our close frame is out or the channel is gone: later sends fail at once.
    let isClosed = Atomic<Bool>(false)

    /// What a frame counts against the budget: its payload plus a header.
    static func cost(of frame: WebSocketOutboundFrame) -> Int {
        switch frame {
        case .message(.binary(let bytes)): bytes.readableBytes + 14
        case .message(.text(let text)): text.utf8.count + 14
        case .fragment(_, let payload, _), .ping(let payload), .pong(let payload): payload.readableBytes + 14
        case .close: 139
        }
    }
}

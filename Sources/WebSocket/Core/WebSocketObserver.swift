/// Told what crosses a WebSocket connection, for metrics. Called on the channel's event loop,
/// once per read, flush, frame and close: an implementation must be cheap and must not block.
public protocol WebSocketObserver: Sendable {
    /// Bytes read from (`inbound`) or written to the socket, framing included.
    func transferred(bytes: Int, inbound: Bool)
    /// A message or control frame: `text`, `binary`, `fragment` (outbound only), `ping`,
    /// `pong` or `close`.
    func frame(_ kind: String, inbound: Bool)
    /// The connection ended with this status (1006 when no close frame was exchanged).
    func closed(code: UInt16)
}

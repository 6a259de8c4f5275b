import NIOCore

/// What application code asks the channel handler to send.
public enum WebSocketOutboundFrame: Sendable, Hashable {
    case message(WebSocketMessage)
    /// One frame of a fragmented message: `.text` or `.binary` first, then `.continuation`,
    /// the last one with `fin`.
    case fragment(opcode: WebSocketOpcode, payload: ByteBuffer, fin: Bool)
    case ping(ByteBuffer)
    case pong(ByteBuffer)
    /// Starts the close handshake; the handler closes the connection when the peer answers or
    /// the close timeout passes.
    case close(code: WebSocketCloseCode?, reason: String)
}

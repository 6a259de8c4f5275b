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

/// How the connection ended (RFC 6455 §7.1.5–7.1.6): the code of the peer's close frame
/// (1005 if it had none), the code we failed the connection with, or 1006 if the transport
/// went away without a close frame.
public struct WebSocketCloseStatus: Sendable, Hashable {
    public var code: WebSocketCloseCode
    public var reason: String

    public init(code: WebSocketCloseCode, reason: String = "") {
        self.code = code
        self.reason = reason
    }
}

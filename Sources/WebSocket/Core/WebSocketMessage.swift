import NIOCore

/// A complete, reassembled data message.
public enum WebSocketMessage: Sendable, Hashable {
    case text(String)
    case binary(ByteBuffer)
}

/// What a close frame said. A nil code means the frame carried none (reported as 1005).
public struct WebSocketCloseFrame: Sendable, Hashable {
    public var code: WebSocketCloseCode?
    public var reason: String

    public init(code: WebSocketCloseCode?, reason: String = "") {
        self.code = code
        self.reason = reason
    }
}

/// How the connection ended (RFC 6455 §7.1.5–7.1.6): the code of the peer's close frame
/// (1005 if it had none), the code we failed the connection with (1011 for a peer silent past
/// the keepalive), or 1006 if the transport went away without a close frame.
public struct WebSocketCloseStatus: Sendable, Hashable {
    public var code: WebSocketCloseCode
    public var reason: String

    public init(code: WebSocketCloseCode, reason: String = "") {
        self.code = code
        self.reason = reason
    }
}

/// Why we failed the connection; `code` and `reason` go into our close frame.
public struct WebSocketProtocolError: Error, Sendable, Hashable {
    public var code: WebSocketCloseCode
    public var reason: String

    public init(code: WebSocketCloseCode, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// What the peer's bytes amounted to, in order.
public enum WebSocketEvent: Sendable, Hashable {
    case message(WebSocketMessage)
    /// The matching pong is already queued.
    case ping(ByteBuffer)
    case pong(ByteBuffer)
    /// The peer's close frame. If we had not sent ours, the echo is owed (state
    /// `.replyOwed`): `replyToClose()` queues it. Then the transport may be closed once the
    /// output is written.
    case close(WebSocketCloseFrame)
    /// The peer broke the protocol (or a limit). Unless our close was already out, the close
    /// frame with `error.code` is owed: `replyToClose()` queues it, and the transport should be
    /// closed once it is written.
    case failure(WebSocketProtocolError)
}

/// Misuse of the sending side.
public enum WebSocketSendError: Error, Sendable, Hashable {
    /// A close frame was already sent: RFC 6455 forbids any data frame after it.
    case closed
    /// Control frame payloads are at most 125 bytes.
    case controlPayloadTooLarge
    /// Only codes that are valid on the wire may be sent.
    case invalidCloseCode(WebSocketCloseCode)
}

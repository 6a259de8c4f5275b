/// Limits and timings shared by the codec and the channel handlers.
public struct WebSocketConfiguration: Sendable, Hashable {
    public static let defaultMaxMessageSize = 4 * 1024 * 1024

    /// Largest payload of one data frame; a bigger announced length closes with 1009 before any
    /// of its payload is buffered.
    public var maxFrameSize: Int
    /// Largest reassembled message; checked against each frame header, so the message buffer
    /// never grows past it.
    public var maxMessageSize: Int
    /// Interval between keepalive pings; nil sends none (the conformance echo server runs so).
    public var pingInterval: Duration?
    /// How long a keepalive ping may wait for any sign of life before the connection is closed
    /// with 1011.
    public var pingTimeout: Duration
    /// How long to wait for the peer's close frame (or, for a client, the server's TCP close)
    /// once ours is sent.
    public var closeTimeout: Duration

    public init(
        maxFrameSize: Int? = nil,
        maxMessageSize: Int = WebSocketConfiguration.defaultMaxMessageSize,
        pingInterval: Duration? = nil,
        pingTimeout: Duration = .seconds(20),
        closeTimeout: Duration = .seconds(10)
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxFrameSize = maxFrameSize ?? maxMessageSize
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.closeTimeout = closeTimeout
    }
}

/// Which end of the connection we are: it decides which way masking goes.
public enum WebSocketRole: Sendable, Hashable {
    case server
    case client
}

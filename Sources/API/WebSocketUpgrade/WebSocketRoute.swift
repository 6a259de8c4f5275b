import HTTPTypes
import Hummingbird
import NIOCore
import WebSocket

/// A path served over WebSocket. The decision to accept is async and happens before the 101:
/// authentication and validation answer with an ordinary HTTP error in Coder's envelope.
public struct WebSocketRoute: Sendable {
    public enum Decision: Sendable {
        case accept(configuration: WebSocketConfiguration, handler: @Sendable (WebSocketConnection) async -> Void)
        case reject(APIError)
    }

    /// True if `path` (without the query) is this route's.
    let matches: @Sendable (_ path: String) -> Bool
    let decide: @Sendable (_ request: HTTPRequest) async -> Decision

    public init(matches: @escaping @Sendable (String) -> Bool, decide: @escaping @Sendable (HTTPRequest) async -> Decision) {
        self.matches = matches
        self.decide = decide
    }
}

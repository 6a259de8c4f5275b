import NIOHTTP1

/// The client's half of the opening handshake: the request headers to send and the check of
/// the server's answer (RFC 6455 §4.1).
public struct WebSocketClientHandshake: Sendable, Hashable {
    public let key: String
    public let subprotocols: [String]

    public init(key: String = WebSocketHandshake.randomKey(), subprotocols: [String] = []) {
        self.key = key
        self.subprotocols = subprotocols
    }

    /// The headers of the upgrade GET. `host` is `host[:port]` as the URL gave it.
    public func requestHeaders(host: String, additional: HTTPHeaders = [:]) -> HTTPHeaders {
        var headers: HTTPHeaders = [
            "Host": host,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
        ]
        if !subprotocols.isEmpty {
            headers.add(name: "Sec-WebSocket-Protocol", value: subprotocols.joined(separator: ", "))
        }
        headers.add(contentsOf: additional)
        return headers
    }

    public enum Failure: Error, Sendable, Hashable {
        /// Anything but 101; the status is kept so callers can map 401/403 to their own errors.
        case unexpectedStatus(HTTPResponseStatus)
        case missingUpgradeHeader
        case missingConnectionHeader
        case wrongAcceptValue
        case unrequestedSubprotocol(String)
        /// An extension we did not offer (we offer none).
        case unrequestedExtension(String)
    }

    /// Checks the server's response and returns the chosen subprotocol, if any.
    public func validate(status: HTTPResponseStatus, headers: HTTPHeaders) throws(Failure) -> String? {
        guard status == .switchingProtocols else { throw .unexpectedStatus(status) }
        guard WebSocketHandshake.tokens("Upgrade", in: headers).contains("websocket") else { throw .missingUpgradeHeader }
        guard WebSocketHandshake.tokens("Connection", in: headers).contains("upgrade") else { throw .missingConnectionHeader }
        let accept = headers["Sec-WebSocket-Accept"]
        guard accept.count == 1, accept[0].trimmingASCIIWhitespace() == WebSocketHandshake.acceptValue(forKey: key) else {
            throw .wrongAcceptValue
        }
        if let extensions = headers.first(name: "Sec-WebSocket-Extensions") {
            throw .unrequestedExtension(extensions)
        }
        guard let chosen = headers.first(name: "Sec-WebSocket-Protocol")?.trimmingASCIIWhitespace() else { return nil }
        guard subprotocols.contains(String(chosen)) else { throw .unrequestedSubprotocol(String(chosen)) }
        return String(chosen)
    }
}

import NIOCore
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

    /// The upgrade request as bytes: the client writes it itself, so no HTTP codec has to be
    /// taken out of the pipeline afterwards.
    public func requestBytes(target: String, host: String, additional: HTTPHeaders = [:]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("GET \(target) HTTP/1.1\r\n")
        for (name, value) in requestHeaders(host: host, additional: additional) {
            buffer.writeString("\(name): \(value)\r\n")
        }
        buffer.writeString("\r\n")
        return buffer
    }

    /// The largest response head accepted before the 101 (or the error) is complete.
    public static let maxResponseHeadSize = 16 * 1024

    /// Reads an HTTP/1.1 response head from the front of `buffer`, consuming it, or returns nil
    /// if it is not complete yet. Whatever follows the head (the server's first frames) stays
    /// in `buffer`.
    public static func parseResponseHead(_ buffer: inout ByteBuffer) throws(Failure) -> (status: HTTPResponseStatus, headers: HTTPHeaders)? {
        let view = buffer.readableBytesView
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard let end = view.firstRange(of: terminator) else {
            if view.count > maxResponseHeadSize { throw .malformedResponse }
            return nil
        }
        let headLength = end.upperBound - view.startIndex
        guard let text = buffer.readString(length: headLength) else { throw .malformedResponse }
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast(2)[...]
        guard let statusLine = lines.popFirst() else { throw .malformedResponse }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0",
              parts[1].count == 3, let code = Int(parts[1]) else { throw .malformedResponse }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  line.first != " ", line.first != "\t" else { throw .malformedResponse }
            headers.add(name: String(line[..<colon]), value: String(line[line.index(after: colon)...].trimmingASCIIWhitespace()))
        }
        return (HTTPResponseStatus(statusCode: code), headers)
    }

    public enum Failure: Error, Sendable, Hashable {
        /// Not an HTTP response head we can read.
        case malformedResponse
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

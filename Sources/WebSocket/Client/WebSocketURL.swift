/// The parts of a `ws://` or `wss://` URL a client needs (RFC 6455 §3).
public struct WebSocketURL: Sendable, Hashable {
    public var isSecure: Bool
    public var host: String
    public var port: Int
    /// Path and query, as sent on the request line; never empty.
    public var target: String

    public enum ParseError: Error, Sendable, Hashable {
        case unsupportedScheme
        case missingHost
        case invalidPort
        /// Fragments have no meaning in a WebSocket URL and must not be sent.
        case fragmentNotAllowed
    }

    public init(_ string: String) throws(ParseError) {
        let lowered = string.lowercased()
        let rest: Substring
        if lowered.hasPrefix("ws://") {
            isSecure = false
            rest = string.dropFirst(5)
        } else if lowered.hasPrefix("wss://") {
            isSecure = true
            rest = string.dropFirst(6)
        } else {
            throw .unsupportedScheme
        }
        guard !rest.contains("#") else { throw .fragmentNotAllowed }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let pathAndQuery = rest[authorityEnd...]
        target = pathAndQuery.isEmpty ? "/" : (pathAndQuery.first == "?" ? "/" + pathAndQuery : String(pathAndQuery))
        if let at = authority.lastIndex(of: "@") {
            authority = authority[authority.index(after: at)...]
        }
        var portText: Substring?
        if authority.first == "[" {
            // IPv6 literal: [::1]:8080
            guard let close = authority.firstIndex(of: "]") else { throw .missingHost }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.first == ":" { portText = after.dropFirst() } else if !after.isEmpty { throw .invalidPort }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw .missingHost }
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { throw .invalidPort }
            port = value
        } else {
            port = isSecure ? 443 : 80
        }
    }

    /// The `Host` header: the port is left out when it is the scheme's default.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (isSecure ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// Whether the host is an IP literal, which TLS must not send as SNI.
    var isIPLiteral: Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    }
}

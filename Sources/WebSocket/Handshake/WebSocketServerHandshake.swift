import NIOHTTP1

/// The server's half of the opening handshake, as a pure function of the request head.
///
/// The API layer's Hummingbird child channel (or any NIO upgrader) calls `evaluate` on the
/// upgrade request. On `.accept` it adds `acceptance.headers` to its 101 response (NIO's
/// upgrade handler already adds `Upgrade` and `Connection`; the headers here include them too,
/// for code that writes the 101 itself) and, once the HTTP handlers are gone, calls
/// `WebSocketConnection.installServerHandlers(on:configuration:)`. On `.reject` it answers
/// with `rejection.status`, `rejection.headers` and a body built from `rejection.reason`
/// (in Coder's JSON envelope, for example), with `Connection: close`.
public enum WebSocketServerHandshake {
    public struct Acceptance: Sendable, Equatable {
        /// `Upgrade`, `Connection`, `Sec-WebSocket-Accept` and, if one was chosen,
        /// `Sec-WebSocket-Protocol`.
        public var headers: HTTPHeaders
        public var subprotocol: String?
    }

    public struct Rejection: Error, Sendable, Equatable {
        public var status: HTTPResponseStatus
        /// Headers the response must carry, such as `Sec-WebSocket-Version: 13` with 426.
        public var headers: HTTPHeaders
        /// A human-readable explanation for the response body.
        public var reason: String
    }

    public enum Outcome: Sendable, Equatable {
        case accept(Acceptance)
        case reject(Rejection)
    }

    /// Checks an upgrade request against RFC 6455 §4.2.1.
    ///
    /// - Parameter subprotocols: what the server speaks, most preferred first. The first one
    ///   the client also offered is chosen; none is chosen if there is no overlap, which leaves
    ///   the client to decide whether to go on.
    public static func evaluate(_ head: HTTPRequestHead, subprotocols: [String] = []) -> Outcome {
        evaluate(method: head.method, version: head.version, headers: head.headers, subprotocols: subprotocols)
    }

    public static func evaluate(
        method: HTTPMethod,
        version: HTTPVersion,
        headers: HTTPHeaders,
        subprotocols: [String] = []
    ) -> Outcome {
        guard method == .GET else {
            return .reject(Rejection(status: .methodNotAllowed, headers: ["Allow": "GET"], reason: "A WebSocket upgrade must be a GET request."))
        }
        guard version.major > 1 || (version.major == 1 && version.minor >= 1) else {
            return .reject(Rejection(status: .badRequest, headers: [:], reason: "A WebSocket upgrade needs HTTP/1.1."))
        }
        guard WebSocketHandshake.tokens("Upgrade", in: headers).contains("websocket") else {
            return .reject(Rejection(status: .badRequest, headers: [:], reason: "The Upgrade header must name websocket."))
        }
        guard WebSocketHandshake.tokens("Connection", in: headers).contains("upgrade") else {
            return .reject(Rejection(status: .badRequest, headers: [:], reason: "The Connection header must include upgrade."))
        }
        let versions = headers["Sec-WebSocket-Version"]
        guard versions.count == 1, versions[0].trimmingASCIIWhitespace() == "13" else {
            return .reject(Rejection(
                status: .upgradeRequired,
                headers: ["Sec-WebSocket-Version": "13"],
                reason: "Only WebSocket version 13 is supported."
            ))
        }
        let keys = headers["Sec-WebSocket-Key"]
        guard keys.count == 1, WebSocketHandshake.isValidKey(keys[0].trimmingASCIIWhitespace()) else {
            return .reject(Rejection(status: .badRequest, headers: [:], reason: "Sec-WebSocket-Key must be base64 of 16 bytes."))
        }
        let key = String(keys[0].trimmingASCIIWhitespace())

        var response: HTTPHeaders = [
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Accept": WebSocketHandshake.acceptValue(forKey: key),
        ]
        let offered = headers["Sec-WebSocket-Protocol"].flatMap { value in
            value.split(separator: ",").map { String($0.trimmingASCIIWhitespace()) }
        }
        // Subprotocol names are case-sensitive tokens (RFC 6455 §11.5).
        let chosen = subprotocols.first { offered.contains($0) }
        if let chosen {
            response.add(name: "Sec-WebSocket-Protocol", value: chosen)
        }
        return .accept(Acceptance(headers: response, subprotocol: chosen))
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> Substring {
        Substring(self).trimmingASCIIWhitespace()
    }
}

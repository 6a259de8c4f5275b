import NIOCore
import NIOHTTP1
import Testing
@testable import WebSocket

@Suite struct HandshakeTests {
    static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

    func request(
        method: HTTPMethod = .GET,
        version: HTTPVersion = .http1_1,
        _ headers: [(String, String)]? = nil
    ) -> HTTPRequestHead {
        let fields = headers ?? [
            ("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13"),
        ]
        return HTTPRequestHead(version: version, method: method, uri: "/chat", headers: HTTPHeaders(fields))
    }

    func rejection(_ outcome: WebSocketServerHandshake.Outcome) -> WebSocketServerHandshake.Rejection? {
        if case .reject(let rejection) = outcome { return rejection }
        return nil
    }

    @Test func acceptValueOfTheRFCSample() {
        #expect(WebSocketHandshake.acceptValue(forKey: Self.sampleKey) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func validRequestIsAccepted() {
        guard case .accept(let acceptance) = WebSocketServerHandshake.evaluate(request()) else {
            Issue.record("rejected")
            return
        }
        #expect(acceptance.headers["Sec-WebSocket-Accept"] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        #expect(acceptance.headers["Upgrade"] == ["websocket"])
        #expect(acceptance.headers["Sec-WebSocket-Protocol"] == [])
        #expect(acceptance.subprotocol == nil)
    }

    @Test func headerTokenListsAreCaseInsensitive() {
        let head = request([
            ("Host", "h"), ("Upgrade", "h2c, WebSocket"), ("Connection", "keep-alive"), ("connection", " UPGRADE "),
            ("sec-websocket-key", Self.sampleKey), ("Sec-WebSocket-Version", "13"),
        ])
        guard case .accept = WebSocketServerHandshake.evaluate(head) else {
            Issue.record("rejected")
            return
        }
    }

    @Test func wrongMethodIs405() {
        #expect(rejection(WebSocketServerHandshake.evaluate(request(method: .POST)))?.status == .methodNotAllowed)
    }

    @Test func http10IsRejected() {
        #expect(rejection(WebSocketServerHandshake.evaluate(request(version: .http1_0)))?.status == .badRequest)
    }

    @Test func missingUpgradeOrConnectionIs400() {
        let noUpgrade = request([("Host", "h"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13")])
        #expect(rejection(WebSocketServerHandshake.evaluate(noUpgrade))?.status == .badRequest)
        let noConnection = request([("Host", "h"), ("Upgrade", "websocket"), ("Connection", "keep-alive"), ("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13")])
        #expect(rejection(WebSocketServerHandshake.evaluate(noConnection))?.status == .badRequest)
    }

    @Test(arguments: ["8", "12", "14", "", "13, 8"])
    func otherVersionsAre426WithTheSupportedVersion(version: String) {
        let head = request([("Host", "h"), ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", version)])
        let rejected = rejection(WebSocketServerHandshake.evaluate(head))
        #expect(rejected?.status == .upgradeRequired)
        #expect(rejected?.headers["Sec-WebSocket-Version"] == ["13"])
    }

    @Test(arguments: ["", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25j", "AAAAAAAAAAAAAAAAAAAAAAAA", "dGhlIHNhbXBsZSBub25jZR==", "dGhl!HNhbXBsZSBub25jZQ=="])
    func keysThatAreNotSixteenBytesAre400(key: String) {
        let head = request([("Host", "h"), ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")])
        #expect(rejection(WebSocketServerHandshake.evaluate(head))?.status == .badRequest)
    }

    @Test func subprotocolIsChosenByServerPreference() {
        var head = request()
        head.headers.add(name: "Sec-WebSocket-Protocol", value: "chat, coder-v1")
        guard case .accept(let acceptance) = WebSocketServerHandshake.evaluate(head, subprotocols: ["coder-v1", "chat"]) else {
            Issue.record("rejected")
            return
        }
        #expect(acceptance.subprotocol == "coder-v1")
        #expect(acceptance.headers["Sec-WebSocket-Protocol"] == ["coder-v1"])
        guard case .accept(let none) = WebSocketServerHandshake.evaluate(head, subprotocols: ["other"]) else {
            Issue.record("rejected")
            return
        }
        #expect(none.subprotocol == nil)
    }

    @Test func randomKeysAreValidAndDistinct() {
        let a = WebSocketHandshake.randomKey()
        let b = WebSocketHandshake.randomKey()
        #expect(WebSocketHandshake.isValidKey(a) && WebSocketHandshake.isValidKey(b) && a != b)
    }

    @Test func clientAcceptsTheRightAnswerOnly() throws {
        let client = WebSocketClientHandshake(key: Self.sampleKey, subprotocols: ["coder-v1"])
        let request = client.requestHeaders(host: "example.com:80")
        #expect(request["Sec-WebSocket-Key"] == [Self.sampleKey])
        #expect(request["Sec-WebSocket-Version"] == ["13"])
        #expect(request["Sec-WebSocket-Protocol"] == ["coder-v1"])
        let good: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]
        #expect(try client.validate(status: .switchingProtocols, headers: good) == nil)
        var chosen = good
        chosen.add(name: "Sec-WebSocket-Protocol", value: "coder-v1")
        #expect(try client.validate(status: .switchingProtocols, headers: chosen) == "coder-v1")
        #expect(throws: WebSocketClientHandshake.Failure.unexpectedStatus(.unauthorized)) {
            try client.validate(status: .unauthorized, headers: good)
        }
        var wrong = good
        wrong.replaceOrAdd(name: "Sec-WebSocket-Accept", value: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        #expect(throws: WebSocketClientHandshake.Failure.wrongAcceptValue) {
            try client.validate(status: .switchingProtocols, headers: wrong)
        }
        var other = good
        other.add(name: "Sec-WebSocket-Protocol", value: "chat")
        #expect(throws: WebSocketClientHandshake.Failure.unrequestedSubprotocol("chat")) {
            try client.validate(status: .switchingProtocols, headers: other)
        }
    }

    @Test func responseHeadIsParsedAndFollowingBytesKept() throws {
        let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        var buffer = ByteBuffer(string: String(text.dropLast(3)))
        #expect(try WebSocketClientHandshake.parseResponseHead(&buffer) == nil)
        buffer = ByteBuffer(string: text)
        buffer.writeBytes([0x81, 0x00])
        let head = try #require(try WebSocketClientHandshake.parseResponseHead(&buffer))
        #expect(head.status == .switchingProtocols)
        #expect(head.headers["sec-websocket-accept"] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        #expect(Array(buffer.readableBytesView) == [0x81, 0x00])
        #expect(try WebSocketClientHandshake(key: Self.sampleKey).validate(status: head.status, headers: head.headers) == nil)
    }

    @Test func garbageResponsesAreRefused() {
        for text in ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 1O1 x\r\n\r\n", "HTTP/1.1 101 x\r\n folded\r\n\r\n"] {
            var buffer = ByteBuffer(string: text)
            #expect(throws: WebSocketClientHandshake.Failure.malformedResponse) {
                try WebSocketClientHandshake.parseResponseHead(&buffer)
            }
        }
        var endless = ByteBuffer(string: "HTTP/1.1 101 x\r\n" + String(repeating: "X-A: b\r\n", count: 3000))
        #expect(throws: WebSocketClientHandshake.Failure.malformedResponse) {
            try WebSocketClientHandshake.parseResponseHead(&endless)
        }
    }

    @Test func base64RoundTrips() {
        for count in 0..<20 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }
}

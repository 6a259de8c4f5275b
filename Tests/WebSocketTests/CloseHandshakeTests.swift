import NIOCore
import Testing
@testable import WebSocket

@Suite struct CloseHandshakeTests {
    static let validCodes: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
    static let invalidCodes: [UInt16] = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

    @Test(arguments: validCodes)
    func peerCloseIsEchoedWithItsCode(code: UInt16) {
        var server = WebSocketStateMachine(role: .server)
        let events = server.feed(clientFrame(opcode: 0x8, closePayload(code, "bye")))
        #expect(events == [.close(WebSocketCloseFrame(code: WebSocketCloseCode(code), reason: "bye"))])
        #expect(server.state == .replyOwed)
        #expect(!server.hasOutput)
        server.replyToClose()
        #expect(server.outputBytes() == [0x88, 0x02, UInt8(code >> 8), UInt8(code & 0xFF)])
        #expect(server.state == .closed)
        #expect(server.receivedClose?.code?.rawValue == code)
    }

    @Test(arguments: invalidCodes)
    func closeCodesNeverSentOnTheWireAreAProtocolError(code: UInt16) {
        #expect(serverFailureCode(clientFrame(opcode: 0x8, closePayload(code))) == 1002)
    }

    @Test func emptyCloseIsEchoedEmpty() {
        var server = WebSocketStateMachine(role: .server)
        #expect(server.feed(clientFrame(opcode: 0x8, [])) == [.close(WebSocketCloseFrame(code: nil))])
        server.replyToClose()
        #expect(server.outputBytes() == [0x88, 0x00])
    }

    @Test func oneBytePayloadIsAProtocolError() {
        #expect(serverFailureCode(clientFrame(opcode: 0x8, [0x03])) == 1002)
    }

    @Test func invalidUTF8ReasonIs1007() {
        #expect(serverFailureCode(clientFrame(opcode: 0x8, closePayload(1000) + [0xCE, 0xBA, 0xE1, 0xBD])) == 1007)
    }

    @Test func nothingIsReadAfterTheClose() {
        var server = WebSocketStateMachine(role: .server)
        let events = server.feed(clientFrame(opcode: 0x8, closePayload(1000)) + clientFrame(opcode: 0x1, "after") + clientFrame(opcode: 0x9, []))
        #expect(events.count == 1)
        #expect(server.feed(clientFrame(opcode: 0x1, "later")) == [])
        server.replyToClose()
        #expect(server.outputBytes() == [0x88, 0x02, 0x03, 0xE8])
    }

    @Test func closeInTheMiddleOfAFragmentedMessageEndsNormally() {
        // Autobahn 7.1.5: the unfinished message is dropped and the close is a normal one.
        var server = WebSocketStateMachine(role: .server)
        let events = server.feed(clientFrame(fin: false, opcode: 0x1, "frag") + clientFrame(opcode: 0x8, closePayload(1000)))
        #expect(events == [.close(WebSocketCloseFrame(code: .normalClosure))])
        server.replyToClose()
        #expect(server.outputBytes() == [0x88, 0x02, 0x03, 0xE8])
    }

    @Test func answersMayPrecedeTheOwedClose() throws {
        // Autobahn 7.1.1 and 3.2: the peer's message and its close (or its error) arrive in one
        // read; the answer to the message must still go out before our close frame.
        var server = WebSocketStateMachine(role: .server)
        let events = server.feed(clientFrame(opcode: 0x1, "Hello") + clientFrame(opcode: 0x8, closePayload(1000)))
        #expect(events == [.message(.text("Hello")), .close(WebSocketCloseFrame(code: .normalClosure))])
        try server.send(.text("Hello"))
        server.replyToClose()
        #expect(server.outputBytes() == [0x81, 0x05] + Array("Hello".utf8) + [0x88, 0x02, 0x03, 0xE8])
        #expect(server.state == .closed)
        #expect(throws: WebSocketSendError.closed) { try server.send(.text("late")) }
    }

    @Test func sendCloseWhileAReplyIsOwedSendsTheOwedReply() throws {
        var server = WebSocketStateMachine(role: .server)
        _ = server.feed(clientFrame(opcode: 0x8, closePayload(4001)))
        try server.sendClose(code: .normalClosure, reason: "ignored")
        #expect(server.outputBytes() == [0x88, 0x02, 0x0F, 0xA1])
        #expect(server.sentClose == WebSocketCloseFrame(code: WebSocketCloseCode(4001)))
    }

    @Test func locallyStartedCloseCompletesWithoutAnEcho() throws {
        var server = WebSocketStateMachine(role: .server)
        try server.sendClose(code: .goingAway, reason: "restart")
        #expect(server.state == .closeSent)
        #expect(server.outputBytes() == [0x88, 0x09, 0x03, 0xE9] + Array("restart".utf8))
        // Data the peer sent before it saw our close is still delivered; pings are not answered.
        #expect(server.feed(clientFrame(opcode: 0x1, "in flight")) == [.message(.text("in flight"))])
        #expect(server.feed(clientFrame(opcode: 0x9, [])) == [.ping(ByteBuffer())])
        #expect(server.feed(clientFrame(opcode: 0x8, closePayload(1001))) == [.close(WebSocketCloseFrame(code: .goingAway))])
        #expect(server.state == .closed)
        #expect(!server.hasOutput)
    }

    @Test func failureAfterOurCloseSendsNoSecondClose() throws {
        var server = WebSocketStateMachine(role: .server)
        try server.sendClose()
        _ = server.takeOutput()
        let events = server.feed(clientFrame(opcode: 0x4, []))
        #expect(events.count == 1 && failure(.protocolError)(events[0]))
        #expect(!server.hasOutput)
    }

    @Test func nothingCanBeSentAfterClose() throws {
        var server = WebSocketStateMachine(role: .server)
        try server.sendClose()
        #expect(throws: WebSocketSendError.closed) { try server.send(.binary(ByteBuffer())) }
        #expect(throws: WebSocketSendError.closed) { try server.sendPing() }
        #expect(throws: WebSocketSendError.closed) { try server.sendClose() }
    }

    @Test func invalidLocalCloseCodesAreRefused() {
        var server = WebSocketStateMachine(role: .server)
        #expect(throws: WebSocketSendError.invalidCloseCode(.abnormalClosure)) { try server.sendClose(code: .abnormalClosure) }
        #expect(throws: WebSocketSendError.controlPayloadTooLarge) {
            try server.sendClose(code: .normalClosure, reason: String(repeating: "x", count: 124))
        }
        #expect(server.state == .open)
    }
}

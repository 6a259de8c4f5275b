import NIOCore
import Testing
@testable import WebSocket

/// The close code a machine put on the wire, read back from its output.
func sentCloseCode(_ machine: inout WebSocketStateMachine) -> UInt16? {
    machine.replyToClose()
    let out = machine.outputBytes()
    guard out.count >= 4, out[0] == 0x88 else { return nil }
    return UInt16(out[2]) << 8 | UInt16(out[3])
}

/// Feeds `bytes` to a fresh server and returns the code it failed with, checking that the
/// event and the close frame it queued agree.
func serverFailureCode(_ bytes: [UInt8], configuration: WebSocketConfiguration = .init()) -> UInt16? {
    var machine = WebSocketStateMachine(role: .server, configuration: configuration)
    let events = machine.feed(bytes)
    guard case .failure(let error)? = events.last else { return nil }
    #expect(machine.state == .replyOwed)
    let wire = sentCloseCode(&machine)
    #expect(wire == error.code.rawValue)
    #expect(machine.state == .closed)
    return error.code.rawValue
}

@Suite struct FrameParsingTests {
    @Test func rfcSingleFrameUnmaskedText() {
        var client = WebSocketStateMachine(role: .client)
        #expect(client.feed([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]) == [.message(.text("Hello"))])
    }

    @Test func rfcSingleFrameMaskedText() {
        var server = WebSocketStateMachine(role: .server)
        let bytes: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(server.feed(bytes) == [.message(.text("Hello"))])
        #expect(!server.hasOutput)
    }

    @Test func rfcFragmentedUnmaskedText() {
        var client = WebSocketStateMachine(role: .client)
        #expect(client.feed([0x01, 0x03, 0x48, 0x65, 0x6C]) == [])
        #expect(client.feed([0x80, 0x02, 0x6C, 0x6F]) == [.message(.text("Hello"))])
    }

    @Test func pingIsAnsweredWithPongCarryingItsPayload() {
        var server = WebSocketStateMachine(role: .server)
        #expect(server.feed(clientFrame(opcode: 0x9, "Hello")) == [.ping(ByteBuffer(string: "Hello"))])
        #expect(server.outputBytes() == [0x8A, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
    }

    @Test func pongIsReportedAndNotAnswered() {
        var server = WebSocketStateMachine(role: .server)
        #expect(server.feed(clientFrame(opcode: 0xA, "x")) == [.pong(ByteBuffer(string: "x"))])
        #expect(!server.hasOutput)
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65535, 65536, 70000])
    func everyLengthEncodingIsRead(length: Int) {
        var server = WebSocketStateMachine(role: .server)
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(server.feed(clientFrame(opcode: 0x2, payload)) == [.message(.binary(ByteBuffer(bytes: payload)))])
    }

    @Test func controlFramesMayInterleaveFragments() {
        var server = WebSocketStateMachine(role: .server)
        var events = server.feed(clientFrame(fin: false, opcode: 0x1, "Hel"))
        events += server.feed(clientFrame(opcode: 0x9, "p1"))
        events += server.feed(clientFrame(fin: false, opcode: 0x0, "l"))
        events += server.feed(clientFrame(opcode: 0xA, "p2"))
        events += server.feed(clientFrame(opcode: 0x0, "o"))
        #expect(events == [.ping(ByteBuffer(string: "p1")), .pong(ByteBuffer(string: "p2")), .message(.text("Hello"))])
        #expect(server.outputBytes() == [0x8A, 0x02, 0x70, 0x31])
    }

    @Test func sixtyFourThousandFragmentsMakeOneMessage() {
        var server = WebSocketStateMachine(role: .server)
        var bytes: [UInt8] = []
        let count = 65_600
        for i in 0..<count {
            bytes += clientFrame(fin: i == count - 1, opcode: i == 0 ? 0x2 : 0x0, [UInt8(truncatingIfNeeded: i)])
        }
        let events = server.feed(bytes)
        #expect(events.count == 1)
        guard case .message(.binary(let buffer))? = events.first else {
            Issue.record("expected one binary message")
            return
        }
        #expect(buffer.readableBytes == count)
        #expect(buffer.getInteger(at: buffer.readerIndex + 300, as: UInt8.self) == UInt8(truncatingIfNeeded: 300))
    }

    @Test func emptyFramesAreMessages() {
        var server = WebSocketStateMachine(role: .server)
        #expect(server.feed(clientFrame(opcode: 0x1, [])) == [.message(.text(""))])
        #expect(server.feed(clientFrame(opcode: 0x2, [])) == [.message(.binary(ByteBuffer()))])
        #expect(server.feed(clientFrame(fin: false, opcode: 0x1, []) + clientFrame(opcode: 0x0, [])) == [.message(.text(""))])
    }

    @Test func byteByByteFeedingGivesTheSameEvents() {
        let bytes = clientFrame(fin: false, opcode: 0x1, "héllo ") + clientFrame(opcode: 0x9, "ping")
            + clientFrame(opcode: 0x0, "wörld") + clientFrame(opcode: 0x2, Array(repeating: 7, count: 300))
        var whole = WebSocketStateMachine(role: .server)
        let expected = whole.feed(bytes)
        var piecewise = WebSocketStateMachine(role: .server)
        var events: [WebSocketEvent] = []
        for byte in bytes {
            events += piecewise.feed([byte])
        }
        #expect(events == expected)
        #expect(expected.count == 3)
    }

    // MARK: Protocol errors → 1002

    @Test func unmaskedClientFrameIsAProtocolError() {
        #expect(serverFailureCode(rawFrame(opcode: 0x1, payload: Array("hi".utf8))) == 1002)
    }

    @Test func maskedServerFrameIsAProtocolError() {
        var client = WebSocketStateMachine(role: .client)
        let events = client.feed(rawFrame(opcode: 0x1, mask: testMask, payload: Array("hi".utf8)))
        #expect(events.count == 1 && failure(.protocolError)(events[0]))
        // A client's close frame is masked: code 1002 sits under the key.
        client.replyToClose()
        let out = client.outputBytes()
        #expect(out[0] == 0x88 && out[1] & 0x80 != 0)
        let code = UInt16(out[6] ^ out[2]) << 8 | UInt16(out[7] ^ out[3])
        #expect(code == 1002)
    }

    @Test(arguments: [UInt8(1), 2, 4, 3, 7])
    func reservedBitsAreAProtocolError(rsv: UInt8) {
        #expect(serverFailureCode(rawFrame(rsv: rsv, opcode: 0x1, mask: testMask, payload: [0x41])) == 1002)
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
    func reservedOpcodesAreAProtocolError(opcode: UInt8) {
        #expect(serverFailureCode(clientFrame(opcode: opcode, [])) == 1002)
    }

    @Test func fragmentedControlFrameIsAProtocolError() {
        #expect(serverFailureCode(clientFrame(fin: false, opcode: 0x9, "x")) == 1002)
    }

    @Test func controlFrameOver125BytesIsAProtocolError() {
        #expect(serverFailureCode(clientFrame(opcode: 0x9, Array(repeating: 0, count: 126))) == 1002)
        // Announced only: the error comes from the header, before any payload.
        #expect(serverFailureCode([0x89, 0xFE, 0x00, 0x7E] + testMask) == 1002)
    }

    @Test func continuationWithoutAMessageIsAProtocolError() {
        #expect(serverFailureCode(clientFrame(opcode: 0x0, "x")) == 1002)
    }

    @Test func newDataFrameInsideAFragmentedMessageIsAProtocolError() {
        #expect(serverFailureCode(clientFrame(fin: false, opcode: 0x1, "a") + clientFrame(opcode: 0x1, "b")) == 1002)
        #expect(serverFailureCode(clientFrame(fin: false, opcode: 0x2, "a") + clientFrame(opcode: 0x2, "b")) == 1002)
    }

    @Test func sixtyFourBitLengthWithTheTopBitSetIsAProtocolError() {
        #expect(serverFailureCode([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0] + testMask) == 1002)
    }

    @Test func lengthsNotInTheirShortestFormAreAProtocolError() {
        #expect(serverFailureCode(rawFrame(opcode: 0x2, mask: testMask, payload: [1, 2], lengthForm: .sixteen)) == 1002)
        #expect(serverFailureCode(rawFrame(opcode: 0x2, mask: testMask, payload: [1, 2], lengthForm: .sixtyFour)) == 1002)
    }

    // MARK: Limits → 1009, before buffering

    @Test func hugeAnnouncedFrameFailsOnItsHeaderAlone() {
        // 2^62 bytes announced, not one payload byte sent.
        #expect(serverFailureCode([0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0] + testMask) == 1009)
    }

    @Test func frameOverTheFrameLimitIs1009() {
        let configuration = WebSocketConfiguration(maxFrameSize: 100, maxMessageSize: 1000)
        #expect(serverFailureCode(clientFrame(opcode: 0x2, Array(repeating: 0, count: 101)), configuration: configuration) == 1009)
        var server = WebSocketStateMachine(role: .server, configuration: configuration)
        #expect(server.feed(clientFrame(opcode: 0x2, Array(repeating: 0, count: 100))).count == 1)
    }

    @Test func messageOverTheMessageLimitIs1009EvenInSmallFragments() {
        let configuration = WebSocketConfiguration(maxFrameSize: 100, maxMessageSize: 250)
        var bytes: [UInt8] = []
        bytes += clientFrame(fin: false, opcode: 0x2, Array(repeating: 0, count: 100))
        bytes += clientFrame(fin: false, opcode: 0x0, Array(repeating: 0, count: 100))
        bytes += clientFrame(fin: false, opcode: 0x0, Array(repeating: 0, count: 51))
        #expect(serverFailureCode(bytes, configuration: configuration) == 1009)
    }

    @Test func defaultMessageLimitIsFourMebibytes() {
        #expect(WebSocketConfiguration().maxMessageSize == 4 * 1024 * 1024)
        let header: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x40, 0, 1] + testMask
        #expect(serverFailureCode(header) == 1009)
    }

    // MARK: UTF-8 → 1007

    @Test func invalidUTF8FailsMidFragmentBeforeTheFrameEnds() {
        var server = WebSocketStateMachine(role: .server)
        // A 100-byte text frame whose fourth byte can never occur in UTF-8; only the first
        // ten bytes of the payload have arrived.
        let payload: [UInt8] = [0x41, 0x42, 0x43, 0xFF] + Array(repeating: 0x41, count: 96)
        let frame = clientFrame(opcode: 0x1, payload)
        let events = server.feed(Array(frame.prefix(2 + 4 + 10)))
        #expect(events.count == 1 && failure(.invalidPayloadData)(events[0]))
        #expect(sentCloseCode(&server) == 1007)
    }

    @Test func invalidUTF8FailsInAnEarlierFragmentOfAMessage() {
        var server = WebSocketStateMachine(role: .server)
        // κόσμε then a lone continuation byte; the message is not finished.
        let events = server.feed(clientFrame(fin: false, opcode: 0x1, Array("κόσμε".utf8) + [0x80]))
        #expect(events.count == 1 && failure(.invalidPayloadData)(events[0]))
    }

    @Test func sequenceSplitAcrossFragmentsIsValid() {
        var server = WebSocketStateMachine(role: .server)
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        let events = server.feed(clientFrame(fin: false, opcode: 0x1, [0x41, euro[0]]) + clientFrame(fin: false, opcode: 0x0, [euro[1]])
            + clientFrame(opcode: 0x0, [euro[2]]))
        #expect(events == [.message(.text("A€"))])
    }

    @Test func textEndingInsideASequenceIs1007() {
        #expect(serverFailureCode(clientFrame(opcode: 0x1, [0x41, 0xE2, 0x82])) == 1007)
    }

    @Test func binaryIsNotValidatedAsText() {
        var server = WebSocketStateMachine(role: .server)
        #expect(server.feed(clientFrame(opcode: 0x2, [0xFF, 0xFE])) == [.message(.binary(ByteBuffer(bytes: [0xFF, 0xFE])))])
    }

    // MARK: After a failure

    @Test func nothingIsReadAfterAFailure() {
        var server = WebSocketStateMachine(role: .server)
        let events = server.feed(clientFrame(opcode: 0x3, []) + clientFrame(opcode: 0x1, "late"))
        #expect(events.count == 1)
        #expect(server.feed(clientFrame(opcode: 0x1, "later")) == [])
        server.replyToClose()
        #expect(throws: WebSocketSendError.closed) { try server.send(.text("x")) }
    }
}

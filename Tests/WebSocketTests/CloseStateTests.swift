import NIOCore
import Testing
@testable import WebSocket

/// The close policy as the state machine answers it, on plain values: for each state, what a
/// peer's frame, the application, a timer or the transport leads to. The channel handler only
/// performs these answers, so they are the whole of its behaviour around the close.
@Suite struct CloseStateTests {
    static let configuration = WebSocketConfiguration(pingInterval: .seconds(15), pingTimeout: .seconds(30), closeTimeout: .seconds(10))
    static let startPing = WebSocketAction.startTimer(.ping, .seconds(15))
    static let startPingTimeout = WebSocketAction.startTimer(.pingTimeout, .seconds(30))
    static let startCloseTimeout = WebSocketAction.startTimer(.closeTimeout, .seconds(10))
    static let startReplyTimeout = WebSocketAction.startTimer(.replyTimeout, .seconds(10))
    static let everyTimerCancelled: [WebSocketAction] = WebSocketTimer.allCases.map { WebSocketAction.cancelTimer($0) }

    private func machine(_ role: WebSocketRole = .server) -> WebSocketStateMachine {
        WebSocketStateMachine(role: role, configuration: Self.configuration)
    }

    /// The status the transport's closing reports, if it reports one.
    private func reported(_ machine: inout WebSocketStateMachine) -> WebSocketCloseStatus? {
        for case .reportClose(let status) in machine.transportClosed() {
            return status
        }
        return nil
    }

    /// A close frame as a client receives it (unmasked).
    private func serverCloseFrame(_ code: UInt16) -> [UInt8] {
        rawFrame(opcode: 0x8, payload: closePayload(code))
    }

    // MARK: Keepalive

    @Test func theKeepaliveStartsOnceWhenTheTransportIsActive() {
        var server = machine()
        #expect(server.transportActive() == [Self.startPing])
        #expect(server.transportActive() == [])
        var quiet = WebSocketStateMachine(role: .server, configuration: WebSocketConfiguration(pingInterval: nil))
        #expect(quiet.transportActive() == [])
    }

    @Test func anUnansweredPingKeepsItsDeadlineAndAnyBytesAnswerIt() {
        var server = machine()
        #expect(server.timerFired(.ping) == [.flush, Self.startPingTimeout, Self.startPing])
        #expect(server.outputBytes() == [0x89, 0x00])
        // The next ping goes out, but the deadline stays that of the first unanswered one.
        #expect(server.timerFired(.ping) == [.flush, Self.startPing])
        #expect(server.peerIsAlive() == [.cancelTimer(.pingTimeout)])
        #expect(server.peerIsAlive() == [])
        #expect(server.timerFired(.ping) == [.flush, Self.startPingTimeout, Self.startPing])
    }

    @Test func aSilentPeerIsClosedWith1011WithoutWaitingForItsAnswer() {
        var server = machine()
        _ = server.timerFired(.ping)
        _ = server.takeOutput()
        #expect(server.timerFired(.pingTimeout) == [.flushThenCloseTransport])
        #expect(server.outputBytes() == serverClose(1011, "keepalive ping timeout"))
        #expect(server.state == .closeSent)
        // A closing endpoint pings no more, and the transport close is asked for once.
        #expect(server.timerFired(.ping) == [])
        #expect(server.timerFired(.pingTimeout) == [])
        // The peer's close arriving behind ours changes neither the close under way nor the 1011.
        _ = server.feed(clientFrame(opcode: 0x8, closePayload(1000)))
        #expect(server.readingEnded() == [.endOfMessages])
        #expect(reported(&server) == WebSocketCloseStatus(code: .internalError, reason: "keepalive ping timeout"))
    }

    // MARK: The peer closes first

    @Test func aServerEchoesThePeersCloseOnceTheApplicationCaughtUpThenCloses() {
        var server = machine()
        #expect(server.feed(clientFrame(opcode: 0x8, closePayload(1001, "bye"))) == [.close(WebSocketCloseFrame(code: .goingAway, reason: "bye"))])
        #expect(server.isDeliveringMessages)
        #expect(server.readingEnded() == [.endOfMessages, Self.startReplyTimeout])
        #expect(!server.hasOutput)
        #expect(server.applicationCaughtUp() == [.cancelTimer(.replyTimeout), .flushThenCloseTransport])
        #expect(server.outputBytes() == [0x88, 0x02, 0x03, 0xE9])
        #expect(server.applicationCaughtUp() == [])
        #expect(reported(&server) == WebSocketCloseStatus(code: .goingAway, reason: "bye"))
    }

    @Test func aClientEchoesThePeersCloseThenWaitsForTheServerToClose() {
        var client = machine(.client)
        _ = client.feed(serverCloseFrame(1000))
        #expect(client.readingEnded() == [.endOfMessages, Self.startReplyTimeout])
        #expect(client.applicationCaughtUp() == [.cancelTimer(.replyTimeout), .flush, Self.startCloseTimeout])
        #expect(client.state == .closed)
        #expect(client.timerFired(.closeTimeout) == [.closeTransport])
        #expect(reported(&client) == WebSocketCloseStatus(code: .normalClosure))
    }

    @Test func theReplyGoesOutAfterTheTimeoutWhenTheApplicationStopsReading() {
        var server = machine()
        _ = server.feed(clientFrame(opcode: 0x8, closePayload(1000)))
        _ = server.readingEnded()
        #expect(server.timerFired(.replyTimeout) == [.cancelTimer(.replyTimeout), .flushThenCloseTransport])
        #expect(server.outputBytes() == [0x88, 0x02, 0x03, 0xE8])
        #expect(server.applicationCaughtUp() == [])
    }

    @Test func theApplicationsCloseWhileAReplyIsOwedSendsTheReply() throws {
        var server = machine()
        _ = server.feed(clientFrame(opcode: 0x8, closePayload(4001)))
        _ = server.readingEnded()
        #expect(try server.close(code: .normalClosure, reason: "ignored") == [.cancelTimer(.replyTimeout), .flushThenCloseTransport])
        #expect(server.outputBytes() == [0x88, 0x02, 0x0F, 0xA1])
    }

    @Test func quiesceWhileAReplyIsOwedSendsTheReply() {
        var server = machine()
        _ = server.feed(clientFrame(opcode: 0x8, []))
        _ = server.readingEnded()
        #expect(server.quiesce() == [.cancelTimer(.replyTimeout), .flushThenCloseTransport])
        #expect(server.outputBytes() == [0x88, 0x00])
        #expect(reported(&server) == WebSocketCloseStatus(code: .noStatusReceived))
    }

    // MARK: We close first

    @Test func ourCloseWaitsForThePeersThenTheServerCloses() throws {
        var server = machine()
        #expect(try server.close(code: .normalClosure, reason: "") == [Self.startCloseTimeout])
        #expect(server.outputBytes() == [0x88, 0x02, 0x03, 0xE8])
        #expect(server.isSendingOver)
        // Messages in flight are parsed but not delivered, and reading goes on regardless of
        // the application so that the peer's close is seen.
        #expect(server.feed(clientFrame(opcode: 0x1, "late")) == [.message(.text("late"))])
        #expect(!server.isDeliveringMessages)
        #expect(server.readsRegardlessOfDemand)
        _ = server.feed(clientFrame(opcode: 0x8, closePayload(1000)))
        #expect(server.readingEnded() == [.endOfMessages, .flushThenCloseTransport])
        #expect(!server.hasOutput)
        #expect(!server.readsRegardlessOfDemand)
        #expect(reported(&server) == WebSocketCloseStatus(code: .normalClosure))
    }

    @Test func aClientLeavesTheTCPCloseToTheServerWithinTheCloseTimeout() throws {
        var client = machine(.client)
        #expect(try client.close(code: .normalClosure, reason: "") == [Self.startCloseTimeout])
        _ = client.takeOutput()
        _ = client.feed(serverCloseFrame(1000))
        // The close timeout, already running, bounds the wait: it is not started again.
        #expect(client.readingEnded() == [.endOfMessages, .flush])
        #expect(client.timerFired(.closeTimeout) == [.closeTransport])
    }

    @Test func ourCloseUnansweredEndsWithTheTimeoutAs1006() throws {
        var server = machine()
        _ = try server.close(code: .normalClosure, reason: "")
        #expect(server.timerFired(.closeTimeout) == [.closeTransport])
        #expect(reported(&server) == WebSocketCloseStatus(code: .abnormalClosure))
    }

    @Test func quiesceSaysGoingAwayAndWaitsForThePeer() {
        var server = machine()
        #expect(server.quiesce() == [.flush, Self.startCloseTimeout])
        #expect(server.outputBytes() == serverClose(1001, "server shutting down"))
        #expect(server.isSendingOver)
    }

    @Test func aSecondCloseRequestChangesNothing() throws {
        var server = machine()
        #expect(try server.close(code: .normalClosure, reason: "") == [Self.startCloseTimeout])
        #expect(throws: WebSocketSendError.closed) { try server.close(code: .goingAway, reason: "") }
        #expect(server.quiesce() == [])
        #expect(server.outputBytes() == [0x88, 0x02, 0x03, 0xE8])

        var quiesced = machine()
        _ = quiesced.quiesce()
        #expect(quiesced.quiesce() == [])
        #expect(throws: WebSocketSendError.closed) { try quiesced.close(code: .normalClosure, reason: "") }
        #expect(quiesced.outputBytes() == serverClose(1001, "server shutting down"))
    }

    // MARK: Protocol errors

    @Test func aProtocolErrorWhileOpenIsAnsweredWithItsCodeThenTheTransportCloses() {
        var server = machine()
        let events = server.feed(rawFrame(opcode: 0x1, payload: Array("hi".utf8)))
        #expect(events.count == 1 && failure(.protocolError)(events[0]))
        #expect(server.readingEnded() == [.endOfMessages, Self.startReplyTimeout])
        #expect(server.applicationCaughtUp() == [.cancelTimer(.replyTimeout), .flushThenCloseTransport])
        #expect(server.outputBytes() == serverClose(1002, "client frame is not masked"))
        #expect(reported(&server) == WebSocketCloseStatus(code: .protocolError, reason: "client frame is not masked"))
    }

    @Test func aFailingClientClosesTheTransportItself() {
        var client = machine(.client)
        let events = client.feed(clientFrame(opcode: 0x1, "masked"))
        #expect(events.count == 1 && failure(.protocolError)(events[0]))
        _ = client.readingEnded()
        #expect(client.applicationCaughtUp() == [.cancelTimer(.replyTimeout), .flushThenCloseTransport])
    }

    @Test(arguments: [WebSocketRole.server, .client])
    func aProtocolErrorWhileClosingClosesWithoutASecondCloseFrame(role: WebSocketRole) throws {
        var endpoint = machine(role)
        _ = try endpoint.close(code: .normalClosure, reason: "")
        _ = endpoint.takeOutput()
        // A reserved opcode: a protocol error whichever end receives it.
        let events = endpoint.feed(clientFrame(opcode: 0x3, []))
        #expect(events.count == 1 && failure(.protocolError)(events[0]))
        #expect(endpoint.readingEnded() == [.endOfMessages, .flushThenCloseTransport])
        #expect(!endpoint.hasOutput)
        #expect(reported(&endpoint)?.code == .protocolError)
    }

    @Test func messageLimitsAndBadTextReportTheirCodes() {
        var big = WebSocketStateMachine(role: .server, configuration: WebSocketConfiguration(maxMessageSize: 4))
        _ = big.feed(clientFrame(opcode: 0x2, [1, 2, 3, 4, 5]))
        _ = big.readingEnded()
        #expect(reported(&big)?.code == .messageTooBig)
        var text = machine()
        _ = text.feed(clientFrame(opcode: 0x1, [0xFF]))
        _ = text.readingEnded()
        #expect(reported(&text)?.code == .invalidPayloadData)
    }

    // MARK: The transport ends

    @Test func endOfInputWhileOpenClosesTheTransportAndReports1006() {
        var server = machine()
        _ = server.transportActive()
        #expect(server.receivedEOF() == [.closeTransport])
        #expect(server.transportClosed() == Self.everyTimerCancelled + [.discardPendingWrites, .reportClose(WebSocketCloseStatus(code: .abnormalClosure))])
        #expect(server.isTransportClosed && server.isSendingOver)
    }

    @Test func endOfInputWhileClosingClosesTheTransport() throws {
        var server = machine()
        _ = try server.close(code: .normalClosure, reason: "")
        #expect(server.receivedEOF() == [.closeTransport])
        #expect(reported(&server) == WebSocketCloseStatus(code: .abnormalClosure))

        // After the peer's close, its code stands even if the transport ends before our reply.
        var owing = machine()
        _ = owing.feed(clientFrame(opcode: 0x8, closePayload(1000)))
        _ = owing.readingEnded()
        #expect(owing.receivedEOF() == [.closeTransport])
        #expect(reported(&owing) == WebSocketCloseStatus(code: .normalClosure))
    }

    @Test func aTransportErrorClosesTheTransport() {
        var server = machine()
        #expect(server.transportFailed() == [.closeTransport])
    }

    @Test func theCloseIsReportedOnce() {
        var server = machine()
        _ = server.feed(clientFrame(opcode: 0x8, []))
        #expect(server.transportClosed() == Self.everyTimerCancelled + [.discardPendingWrites, .reportClose(WebSocketCloseStatus(code: .noStatusReceived))])
        #expect(server.transportClosed() == Self.everyTimerCancelled + [.discardPendingWrites])
    }
}

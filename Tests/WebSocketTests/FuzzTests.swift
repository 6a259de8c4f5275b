import TestSupport
import NIOCore
import Testing
@testable import WebSocket

/// Property tests on seeded randomness: every run covers the same cases, and a failing seed
/// replays exactly.
@Suite struct FuzzTests {
    /// Arbitrary bytes, in arbitrary pieces, never crash the parser; every message it reports
    /// is within the limits; once it fails it stays silent.
    @Test(arguments: [WebSocketRole.server, .client])
    func arbitraryBytesNeverCrashOrExceedLimits(role: WebSocketRole) {
        let configuration = WebSocketConfiguration(maxFrameSize: 300, maxMessageSize: 700)
        var rng = SplitMix64(seed: role == .server ? 1 : 2)
        // Sized to stay near a second in a debug build: a synchronous test holds one of the
        // cooperative pool's threads (two here), which the in-process servers of other tests
        // running beside it need.
        for _ in 0..<1500 {
            var machine = WebSocketStateMachine(role: role, configuration: configuration)
            var finished = false
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let bytes = randomFrameLikeBytes(role: role, using: &rng)
                let events = machine.feed(bytes)
                // Buffers stay within the message limit (ByteBuffer rounds up to a power of
                // two) plus what was just received and an unfinished control frame.
                #expect(machine.bufferedCapacity <= 2 * 700 + 2 * (bytes.count + 140))
                for event in events {
                    #expect(!finished, "event after the end: \(event)")
                    switch event {
                    case .message(.binary(let buffer)):
                        #expect(buffer.readableBytes <= 700)
                    case .message(.text(let text)):
                        #expect(text.utf8.count <= 700)
                    case .ping(let payload), .pong(let payload):
                        #expect(payload.readableBytes <= 125)
                    case .close, .failure:
                        finished = true
                    }
                }
            }
        }
    }

    /// Mostly-plausible frames with random corruption, so the fuzzer gets past the first header.
    private func randomFrameLikeBytes(role: WebSocketRole, using rng: inout SplitMix64) -> [UInt8] {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            return (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        default:
            let opcodes: [UInt8] = [0, 1, 2, 8, 9, 10, 3, 11]
            let length = [0, 1, 2, 5, 125, 126, 200, 301, 1000].randomElement(using: &rng)!
            var payload = (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
            if !payload.isEmpty && Bool.random(using: &rng) {
                payload[Int.random(in: 0..<payload.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let masked = role == .server ? Int.random(in: 0..<20, using: &rng) != 0 : Int.random(in: 0..<20, using: &rng) == 0
            var bytes = rawFrame(
                fin: Int.random(in: 0..<3, using: &rng) != 0,
                rsv: Int.random(in: 0..<20, using: &rng) == 0 ? 1 : 0,
                opcode: opcodes.randomElement(using: &rng)!,
                mask: masked ? (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) } : nil,
                payload: payload
            )
            if Int.random(in: 0..<5, using: &rng) == 0 {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            return bytes
        }
    }

    /// A peer that announces the largest allowed frame and trickles its payload makes the
    /// machine hold what arrived, not what was announced.
    @Test func announcedLengthIsNotAllocatedAhead() {
        var server = WebSocketStateMachine(role: .server)
        let header: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x3F, 0xFF, 0xFF] + testMask
        #expect(server.feed(header + [1, 2, 3]) == [])
        // The first payload reserves at most 256 KiB for a 4 MiB frame.
        #expect(server.bufferedCapacity <= 256 * 1024 + 64)
    }

    /// Whatever either side serializes — any message, fragmented any way, any masks, pings in
    /// between, drained one frame at a time or in bursts — the other side parses back
    /// identically, whatever the read boundaries.
    @Test(arguments: [WebSocketRole.client, .server])
    func serializerAndParserRoundTrip(sender: WebSocketRole) throws {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<100 { // sized as above
            var writer = WebSocketStateMachine(role: sender)
            var expected: [WebSocketEvent] = []
            var wire: [UInt8] = []
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let message = randomMessage(using: &rng)
                try sendFragmented(message, from: &writer, expected: &expected, using: &rng)
                if Bool.random(using: &rng) {
                    wire += writer.outputBytes()
                }
            }
            wire += writer.outputBytes()
            var reader = WebSocketStateMachine(role: sender == .client ? .server : .client)
            var events: [WebSocketEvent] = []
            var offset = 0
            while offset < wire.count {
                let piece = min(wire.count - offset, Int.random(in: 1...700, using: &rng))
                events += reader.feed(Array(wire[offset..<offset + piece]))
                offset += piece
            }
            #expect(events == expected)
        }
    }

    private func randomMessage(using rng: inout SplitMix64) -> WebSocketMessage {
        let length = [0, 1, 7, 8, 9, 125, 126, 1000, 1024, 1025, 3000, 65536, 70001].randomElement(using: &rng)!
        if Bool.random(using: &rng) {
            let alphabet: [Character] = ["a", "é", "€", "😀", "ж", " ", "\u{10FFFF}"]
            return .text(String((0..<length / 4).map { _ in alphabet.randomElement(using: &rng)! }))
        }
        return .binary(ByteBuffer(bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }))
    }

    private func sendFragmented(
        _ message: WebSocketMessage,
        from writer: inout WebSocketStateMachine,
        expected: inout [WebSocketEvent],
        using rng: inout SplitMix64
    ) throws {
        let (opcode, payload): (WebSocketOpcode, ByteBuffer) = switch message {
        case .text(let text): (.text, ByteBuffer(string: text))
        case .binary(let bytes): (.binary, bytes)
        }
        var rest = payload
        var first = true
        repeat {
            // Fragments split anywhere, even inside a UTF-8 sequence.
            let size = min(rest.readableBytes, Int.random(in: 0...(rest.readableBytes + 1), using: &rng))
            let piece = rest.readSlice(length: size)!
            let key = WebSocketMaskingKey.random(using: &rng)
            try writer.sendFrame(opcode: first ? opcode : .continuation, payload: piece, fin: rest.readableBytes == 0, maskingKey: key)
            first = false
            if rest.readableBytes > 0 && Int.random(in: 0..<4, using: &rng) == 0 {
                let ping = ByteBuffer(bytes: (0..<Int.random(in: 0...125, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                try writer.sendPing(ping, maskingKey: WebSocketMaskingKey.random(using: &rng))
                expected.append(.ping(ping))
            }
        } while rest.readableBytes > 0
        expected.append(.message(message))
    }
}

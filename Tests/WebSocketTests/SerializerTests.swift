import TestSupport
import NIOCore
import Testing
@testable import WebSocket

@Suite struct SerializerTests {
    @Test func serverFramesAreUnmaskedAndShortest() throws {
        var server = WebSocketStateMachine(role: .server)
        try server.send(.text("Hello"))
        #expect(server.outputBytes() == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        try server.send(.binary(ByteBuffer(bytes: Array(repeating: 0xAB, count: 256))))
        #expect(server.outputBytes() == [0x82, 0x7E, 0x01, 0x00] + Array(repeating: 0xAB, count: 256))
        try server.send(.binary(ByteBuffer(bytes: Array(repeating: 0xCD, count: 65536))))
        #expect(server.outputBytes() == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0] + Array(repeating: 0xCD, count: 65536))
    }

    @Test func clientFramesAreMaskedWithTheGivenKey() throws {
        var client = WebSocketStateMachine(role: .client)
        try client.send(.text("Hello"), maskingKey: WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D))
        #expect(client.outputBytes() == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    @Test func clientFramesGetARandomKeyWhenNoneIsGiven() throws {
        var client = WebSocketStateMachine(role: .client)
        try client.send(.text("Hello"))
        let out = client.outputBytes()
        #expect(out.count == 11 && out[1] == 0x85)
        var server = WebSocketStateMachine(role: .server)
        #expect(server.feed(out) == [.message(.text("Hello"))])
    }

    @Test func serverIgnoresAMaskingKey() throws {
        var server = WebSocketStateMachine(role: .server)
        try server.sendPing(ByteBuffer(string: "a"), maskingKey: WebSocketMaskingKey(1, 2, 3, 4))
        #expect(server.outputBytes() == [0x89, 0x01, 0x61])
    }

    @Test func fragmentsGoOutAsGiven() throws {
        var server = WebSocketStateMachine(role: .server)
        try server.sendFrame(opcode: .text, payload: ByteBuffer(string: "Hel"), fin: false)
        try server.sendFrame(opcode: .continuation, payload: ByteBuffer(string: "lo"), fin: true)
        #expect(server.outputBytes() == [0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F])
    }

    @Test func controlPayloadsOver125BytesAreRefused() {
        var server = WebSocketStateMachine(role: .server)
        #expect(throws: WebSocketSendError.controlPayloadTooLarge) {
            try server.sendPing(ByteBuffer(bytes: Array(repeating: 0, count: 126)))
        }
    }

    @Test func largeServerPayloadIsNotCopied() throws {
        var output: [ByteBuffer] = []
        let payload = ByteBuffer(bytes: Array(repeating: 1, count: 4096))
        WebSocketFrameSerializer.serialize(opcode: .binary, payload: payload, into: &output)
        #expect(output.count == 2)
        #expect(output[0].bytes == [0x82, 0x7E, 0x10, 0x00])
        // Same storage: the payload buffer went out as it came in.
        #expect(output[1].withUnsafeReadableBytes { $0.baseAddress } == payload.withUnsafeReadableBytes { $0.baseAddress })
    }

    @Test func aBurstOfSmallFramesIsOneBuffer() throws {
        var server = WebSocketStateMachine(role: .server)
        for index in 0..<10 {
            try server.send(.binary(ByteBuffer(bytes: Array(repeating: UInt8(index), count: 100))))
        }
        var buffers: [ByteBuffer] = []
        server.drainOutput { buffer, _ in buffers.append(buffer) }
        #expect(buffers.count == 1)
        #expect(buffers.first?.bytes == (0..<10).flatMap { [0x82, 100] + Array(repeating: UInt8($0), count: 100) })
        #expect(!server.hasOutput)
    }

    @Test func largePayloadsInABurstGoOutAsTheCallersBuffers() throws {
        var server = WebSocketStateMachine(role: .server)
        let large = [ByteBuffer(bytes: Array(repeating: 7, count: 4096)), ByteBuffer(bytes: Array(repeating: 9, count: 2000))]
        try server.send(.text("a"))
        try server.send(.binary(large[0]))
        try server.send(.text("b"))
        try server.send(.binary(large[1]))
        try server.sendPing(ByteBuffer(string: "c"))
        var buffers: [ByteBuffer] = []
        var lastFlags: [Bool] = []
        server.drainOutput { buffer, isLast in
            buffers.append(buffer)
            lastFlags.append(isLast)
        }
        // Headers and small payloads between the large ones, each run in one buffer.
        #expect(buffers.map(\.bytes) == [
            [0x81, 0x01, 0x61, 0x82, 0x7E, 0x10, 0x00], large[0].bytes,
            [0x81, 0x01, 0x62, 0x82, 0x7E, 0x07, 0xD0], large[1].bytes,
            [0x89, 0x01, 0x63],
        ])
        #expect(lastFlags == [false, false, false, false, true])
        for index in 0..<2 {
            #expect(buffers[1 + 2 * index].withUnsafeReadableBytes { $0.baseAddress } == large[index].withUnsafeReadableBytes { $0.baseAddress })
        }
    }

    @Test func theTransportsReadBufferIsLetGoOnceParsed() throws {
        var client = WebSocketStateMachine(role: .client)
        // One read: a whole 300-byte message, then half of the next frame's 4-byte header.
        var read = ByteBufferAllocator().buffer(capacity: 4096)
        read.writeBytes([0x82, 0x7E, 0x01, 0x2C] + Array(repeating: 7, count: 300) + [0x81, 0x7E])
        client.receive(read)
        let first = client.nextEvent()
        #expect(first == .message(.binary(ByteBuffer(bytes: Array(repeating: 7, count: 300)))))
        #expect(client.nextEvent() == nil)
        // Only the partial header is kept, in a buffer of the machine's own.
        #expect(client.retainedInput == (bytes: 2, isOwned: true))
        // The message delivered before still holds its bytes, and the next frame completes.
        read.clear()
        let text = String(repeating: "h", count: 200)
        read.writeBytes([0x00, 0xC8] + Array(text.utf8))
        client.receive(read)
        #expect(client.nextEvent() == .message(.text(text)))
        #expect(first == .message(.binary(ByteBuffer(bytes: Array(repeating: 7, count: 300)))))
    }

    @Test func headerRoundTrip() {
        for length in [0, 125, 126, 65535, 65536, 1 << 40] {
            for key in [nil, WebSocketMaskingKey(9, 8, 7, 6)] {
                let header = WebSocketFrameHeader(fin: length % 2 == 0, reservedBits: 5, opcode: .binary, maskingKey: key, payloadLength: length)
                var buffer = ByteBuffer()
                header.write(into: &buffer)
                #expect(buffer.readableBytes == header.encodedSize)
                #expect(WebSocketFrameHeader.parse(buffer) == .header(header, size: header.encodedSize))
                // Every strict prefix is incomplete, never an error.
                for cut in 0..<buffer.readableBytes {
                    #expect(WebSocketFrameHeader.parse(buffer.getSlice(at: 0, length: cut)!) == .incomplete)
                }
            }
        }
    }
}

@Suite struct MaskingTests {
    @Test func wordMaskingMatchesByteMasking() {
        var rng = SplitMix64(seed: 42)
        let key = WebSocketMaskingKey(0x12, 0x34, 0x56, 0x78)
        for count in 0..<80 {
            let input = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for phase in 0..<4 {
                let expected = input.enumerated().map { $0.element ^ key[phase + $0.offset] }
                var output = [UInt8](repeating: 0, count: count)
                input.withUnsafeBytes { source in
                    output.withUnsafeMutableBytes { destination in
                        WebSocketMasking.apply(key: key, phase: phase, from: source, to: destination)
                    }
                }
                #expect(output == expected, "count \(count) phase \(phase)")
            }
        }
    }

    @Test func keySourceKeepsDrawingFreshKeysAcrossRefills() {
        var source = WebSocketMaskingKeySource()
        let keys = (0..<1000).map { _ in source.key() }
        // 1000 draws from 2^32: a repeat is a one-in-ten-thousand event; a source that stopped
        // refilling after its first 64 would repeat hundreds of times.
        #expect(Set(keys).count >= 998)
    }

    @Test func clientFramesAreMaskedWithFreshKeys() throws {
        var client = WebSocketStateMachine(role: .client)
        for _ in 0..<100 {
            try client.send(.text("x"))
        }
        let wire = client.outputBytes()
        let keys = stride(from: 0, to: wire.count, by: 7).map { Array(wire[$0 + 2..<$0 + 6]) }
        #expect(keys.count == 100)
        #expect(Set(keys).count >= 99)
    }

    @Test func maskingInPlaceWorks() {
        let key = WebSocketMaskingKey(1, 2, 3, 4)
        var bytes = [UInt8](repeating: 0, count: 13)
        bytes.withUnsafeMutableBytes { buffer in
            WebSocketMasking.apply(key: key, phase: 1, from: UnsafeRawBufferPointer(buffer), to: buffer)
        }
        #expect(bytes == [2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2])
    }
}

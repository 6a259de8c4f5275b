import NIOCore
@testable import WebSocket

/// Frames built by hand, independently of the serializer under test.
func rawFrame(
    fin: Bool = true,
    rsv: UInt8 = 0,
    opcode: UInt8,
    mask: [UInt8]? = nil,
    payload: [UInt8],
    lengthForm: LengthForm = .shortest
) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0xF)]
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    let form: LengthForm = lengthForm == .shortest ? (payload.count <= 125 ? .seven : payload.count <= 0xFFFF ? .sixteen : .sixtyFour) : lengthForm
    switch form {
    case .seven, .shortest:
        bytes.append(maskBit | UInt8(payload.count))
    case .sixteen:
        bytes.append(maskBit | 126)
        bytes += [UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count & 0xFF)]
    case .sixtyFour:
        bytes.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(UInt64(payload.count) >> UInt64(shift) & 0xFF))
        }
    }
    if let mask {
        bytes += mask
        bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    } else {
        bytes += payload
    }
    return bytes
}

enum LengthForm {
    case shortest, seven, sixteen, sixtyFour
}

let testMask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

/// A client frame as a server receives it (masked).
func clientFrame(fin: Bool = true, opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
    rawFrame(fin: fin, opcode: opcode, mask: testMask, payload: payload)
}

func clientFrame(fin: Bool = true, opcode: UInt8, _ text: String) -> [UInt8] {
    clientFrame(fin: fin, opcode: opcode, Array(text.utf8))
}

func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
}

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        self.writeBytes(bytes)
    }

    var bytes: [UInt8] { Array(readableBytesView) }
}

extension WebSocketStateMachine {
    /// Feeds bytes and collects every event they produce.
    mutating func feed(_ bytes: [UInt8]) -> [WebSocketEvent] {
        receive(ByteBuffer(bytes: bytes))
        var events: [WebSocketEvent] = []
        while let event = nextEvent() {
            events.append(event)
        }
        return events
    }

    mutating func outputBytes() -> [UInt8] {
        takeOutput().bytes
    }
}


func failure(_ code: WebSocketCloseCode) -> (WebSocketEvent) -> Bool {
    { event in
        if case .failure(let error) = event { return error.code == code }
        return false
    }
}

/// The close frame a server sends for `code` with `reason`.
func serverClose(_ code: UInt16, _ reason: String) -> [UInt8] {
    rawFrame(opcode: 0x8, payload: closePayload(code, reason))
}

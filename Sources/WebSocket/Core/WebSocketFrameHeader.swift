import NIOCore

/// The fixed part of a frame (RFC 6455 §5.2): everything before the payload.
public struct WebSocketFrameHeader: Hashable, Sendable {
    public var fin: Bool
    /// RSV1–RSV3 in the low three bits; non-zero only with a negotiated extension.
    public var reservedBits: UInt8
    public var opcode: WebSocketOpcode
    public var maskingKey: WebSocketMaskingKey?
    public var payloadLength: Int

    public init(
        fin: Bool = true,
        reservedBits: UInt8 = 0,
        opcode: WebSocketOpcode,
        maskingKey: WebSocketMaskingKey? = nil,
        payloadLength: Int
    ) {
        self.fin = fin
        self.reservedBits = reservedBits
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payloadLength = payloadLength
    }

    /// Bytes the header takes on the wire.
    public var encodedSize: Int {
        Self.encodedSize(payloadLength: payloadLength, masked: maskingKey != nil)
    }

    public static func encodedSize(payloadLength: Int, masked: Bool) -> Int {
        let lengthBytes = payloadLength <= 125 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 + lengthBytes + (masked ? 4 : 0)
    }

    enum ParseResult: Equatable {
        case incomplete
        case header(WebSocketFrameHeader, size: Int)
        /// A length the RFC forbids: the top bit of a 64-bit length, or a length not written
        /// in its shortest form.
        case invalidLength
    }

    /// Reads a header from the front of `buffer` without consuming anything, so a caller can
    /// look at the header (and refuse the frame) before any payload is buffered.
    static func parse(_ buffer: ByteBuffer) -> ParseResult {
        buffer.withUnsafeReadableBytes { bytes -> ParseResult in
            guard bytes.count >= 2 else { return .incomplete }
            let b0 = bytes[0]
            let b1 = bytes[1]
            let masked = b1 & 0x80 != 0
            var size = 2
            var length = Int(b1 & 0x7F)
            if length == 126 {
                guard bytes.count >= 4 else { return .incomplete }
                length = Int(bytes[2]) << 8 | Int(bytes[3])
                guard length > 125 else { return .invalidLength }
                size = 4
            } else if length == 127 {
                guard bytes.count >= 10 else { return .incomplete }
                var wide: UInt64 = 0
                for i in 2..<10 {
                    wide = wide << 8 | UInt64(bytes[i])
                }
                guard wide & (1 << 63) == 0, wide > 0xFFFF else { return .invalidLength }
                length = Int(wide)
                size = 10
            }
            var key: WebSocketMaskingKey?
            if masked {
                guard bytes.count >= size + 4 else { return .incomplete }
                key = WebSocketMaskingKey(bytes[size], bytes[size + 1], bytes[size + 2], bytes[size + 3])
                size += 4
            }
            let header = WebSocketFrameHeader(
                fin: b0 & 0x80 != 0,
                reservedBits: (b0 >> 4) & 0x7,
                opcode: WebSocketOpcode(rawValue: b0 & 0x0F),
                maskingKey: key,
                payloadLength: length
            )
            return .header(header, size: size)
        }
    }

    /// Appends the header in its shortest form.
    public func write(into buffer: inout ByteBuffer) {
        var b0 = opcode.rawValue | (reservedBits & 0x7) << 4
        if fin { b0 |= 0x80 }
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        if payloadLength <= 125 {
            buffer.writeMultipleIntegers(b0, maskBit | UInt8(payloadLength))
        } else if payloadLength <= 0xFFFF {
            buffer.writeMultipleIntegers(b0, maskBit | 126, UInt16(payloadLength))
        } else {
            buffer.writeMultipleIntegers(b0, maskBit | 127, UInt64(payloadLength))
        }
        if let key = maskingKey {
            buffer.writeMultipleIntegers(key.bytes.0, key.bytes.1, key.bytes.2, key.bytes.3)
        }
    }
}

import NIOCore

/// Turns frames into bytes. Pure functions: the connection state machine decides what to send.
public enum WebSocketFrameSerializer {
    /// Below this size the payload is copied behind the header into one buffer; above it the
    /// payload goes out as its own buffer so the kernel gathers it (no copy at all).
    static let coalesceLimit = 1024

    /// Serializes one frame, appending the resulting buffers to `output`.
    ///
    /// Unmasked: the payload is copied only when small. Masked: the payload is masked while it
    /// is copied behind the header, which is the single copy a client send costs.
    public static func serialize(
        fin: Bool = true,
        opcode: WebSocketOpcode,
        payload: ByteBuffer,
        maskingKey: WebSocketMaskingKey? = nil,
        reservedBits: UInt8 = 0,
        allocator: ByteBufferAllocator = ByteBufferAllocator(),
        into output: inout [ByteBuffer]
    ) {
        let header = WebSocketFrameHeader(
            fin: fin, reservedBits: reservedBits, opcode: opcode,
            maskingKey: maskingKey, payloadLength: payload.readableBytes
        )
        if let maskingKey {
            var buffer = allocator.buffer(capacity: header.encodedSize + payload.readableBytes)
            header.write(into: &buffer)
            let count = payload.readableBytes
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
                payload.withUnsafeReadableBytes { source in
                    WebSocketMasking.apply(key: maskingKey, phase: 0, from: source, to: destination)
                }
                return count
            }
            output.append(buffer)
        } else if payload.readableBytes <= coalesceLimit {
            var buffer = allocator.buffer(capacity: header.encodedSize + payload.readableBytes)
            header.write(into: &buffer)
            buffer.writeImmutableBuffer(payload)
            output.append(buffer)
        } else {
            var buffer = allocator.buffer(capacity: header.encodedSize)
            header.write(into: &buffer)
            output.append(buffer)
            output.append(payload)
        }
    }

    /// Convenience for tests and tools: the frame as one contiguous buffer.
    public static func serialize(
        fin: Bool = true,
        opcode: WebSocketOpcode,
        payload: ByteBuffer,
        maskingKey: WebSocketMaskingKey? = nil,
        reservedBits: UInt8 = 0
    ) -> ByteBuffer {
        var parts: [ByteBuffer] = []
        serialize(fin: fin, opcode: opcode, payload: payload, maskingKey: maskingKey, reservedBits: reservedBits, into: &parts)
        var result = parts[0]
        for part in parts.dropFirst() {
            result.writeImmutableBuffer(part)
        }
        return result
    }

    /// The payload of a close frame: the code in network order, then the UTF-8 reason.
    /// A nil code gives an empty payload (the peer reads it as 1005).
    static func closePayload(code: WebSocketCloseCode?, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let code else { return allocator.buffer(capacity: 0) }
        var buffer = allocator.buffer(capacity: 2 + reason.utf8.count)
        buffer.writeInteger(code.rawValue)
        buffer.writeString(reason)
        return buffer
    }
}

import NIOCore

/// A frame waiting to be written: its header and the caller's payload, not yet touched.
public struct WebSocketOutgoingFrame: Sendable {
    public var header: WebSocketFrameHeader
    public var payload: ByteBuffer

    public init(header: WebSocketFrameHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }

    /// Whether the payload's bytes are copied behind the header rather than sent as the
    /// caller's own buffer: masked payloads always are (masking is the copy), small ones too.
    var isCopied: Bool {
        header.maskingKey != nil || payload.readableBytes <= WebSocketFrameSerializer.copyLimit
    }
}

/// Turns frames into bytes. Pure functions: the connection state machine decides what to send.
///
/// Frames are serialized in batches, when the output is flushed, not one at a time as they are
/// sent: every header, every small payload and every masked payload of a batch goes into one
/// allocation, and larger unmasked payloads go out as the caller's buffers between slices of
/// it. A burst of small messages costs one allocation and one buffer for the transport, and a
/// burst of large ones no allocation per frame.
public enum WebSocketFrameSerializer {
    /// Unmasked payloads up to this size are copied: copying a kilobyte costs less than the
    /// transport's bookkeeping for one more buffer.
    static let copyLimit = 1024

    /// Serializes `frames` in order, appending the resulting buffers to `output`.
    public static func serialize(
        _ frames: [WebSocketOutgoingFrame],
        allocator: ByteBufferAllocator = ByteBufferAllocator(),
        into output: inout [ByteBuffer]
    ) {
        guard !frames.isEmpty else { return }
        var ownBytes = 0
        for frame in frames {
            ownBytes += frame.header.encodedSize + (frame.isCopied ? frame.payload.readableBytes : 0)
        }
        var batch = allocator.buffer(capacity: ownBytes)
        for frame in frames {
            frame.header.write(into: &batch)
            guard frame.isCopied else { continue }
            if let maskingKey = frame.header.maskingKey {
                let count = frame.payload.readableBytes
                batch.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
                    frame.payload.withUnsafeReadableBytes { source in
                        WebSocketMasking.apply(key: maskingKey, phase: 0, from: source, to: destination)
                    }
                    return count
                }
            } else {
                batch.writeImmutableBuffer(frame.payload)
            }
        }
        // Slices are cut only now that the batch is complete: writing to a buffer with live
        // slices would copy its storage.
        var start = 0
        var end = 0
        for frame in frames {
            end += frame.header.encodedSize
            if frame.isCopied {
                end += frame.payload.readableBytes
                continue
            }
            output.append(batch.getSlice(at: start, length: end - start)!)
            output.append(frame.payload)
            start = end
        }
        if start == 0 {
            output.append(batch)
        } else if end > start {
            output.append(batch.getSlice(at: start, length: end - start)!)
        }
    }

    /// Serializes one frame, appending the resulting buffers to `output`.
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
        serialize([WebSocketOutgoingFrame(header: header, payload: payload)], allocator: allocator, into: &output)
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

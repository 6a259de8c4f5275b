import NIOCore

/// A frame waiting to be written: its header and the caller's payload, not yet touched.
public struct WebSocketOutgoingFrame: Sendable {
    public var header: WebSocketFrameHeader
    public var payload: ByteBuffer

    public init(header: WebSocketFrameHeader, payload: ByteBuffer) {
        precondition(header.payloadLength == payload.readableBytes, "the header must announce the payload's length")
        self.header = header
        self.payload = payload
    }

    /// Where the frame's bytes go: small frames entirely into the batch; larger ones with only
    /// their header there (the caller's buffer follows untouched), or, masked, into a buffer
    /// of their own (masking is the copy, and one huge batch would cost fresh pages).
    var placement: Placement {
        if payload.readableBytes <= WebSocketFrameSerializer.copyLimit { return .inBatch }
        return header.maskingKey == nil ? .headerInBatch : .alone
    }

    enum Placement {
        case inBatch
        case headerInBatch
        case alone
    }
}

/// Turns frames into bytes. Pure functions: the connection state machine decides what to send.
///
/// Frames are serialized in batches, when the output is flushed, not one at a time as they are
/// sent: the headers and small payloads of a batch go into one allocation, and larger unmasked
/// payloads go out as the caller's buffers between slices of it. A burst of small messages
/// costs one allocation and one buffer for the transport, and a burst of large unmasked ones
/// no allocation per frame.
public enum WebSocketFrameSerializer {
    /// Payloads up to this size are copied into the batch rather than handed down as a buffer
    /// of their own: at 1 KiB the batched copy encodes at 2.1× NIO, where handing down two
    /// buffers per frame is bound by the floor benchmark (docs/benchmarks.md).
    static let copyLimit = 1024

    /// Serializes `frames` in order, appending the resulting buffers to `output`.
    public static func serialize(
        _ frames: [WebSocketOutgoingFrame],
        allocator: ByteBufferAllocator = ByteBufferAllocator(),
        into output: inout [ByteBuffer]
    ) {
        guard !frames.isEmpty else { return }
        // Indices rather than `for frame in frames`: copying a frame out retains its payload.
        var batchBytes = 0
        for index in frames.indices {
            switch frames[index].placement {
            case .inBatch: batchBytes += frames[index].header.encodedSize + frames[index].payload.readableBytes
            case .headerInBatch: batchBytes += frames[index].header.encodedSize
            case .alone: break
            }
        }
        var batch = allocator.buffer(capacity: batchBytes)
        for index in frames.indices {
            let placement = frames[index].placement
            guard placement != .alone else { continue }
            frames[index].header.write(into: &batch)
            if placement == .inBatch {
                writePayload(of: frames[index], into: &batch)
            }
        }
        // Slices are cut only now that the batch is complete: writing to a buffer with live
        // slices would copy its storage.
        var start = 0
        var end = 0
        for index in frames.indices {
            switch frames[index].placement {
            case .inBatch:
                end += frames[index].header.encodedSize + frames[index].payload.readableBytes
            case .headerInBatch:
                end += frames[index].header.encodedSize
                output.append(batch.getSlice(at: start, length: end - start)!)
                output.append(frames[index].payload)
                start = end
            case .alone:
                if end > start {
                    output.append(batch.getSlice(at: start, length: end - start)!)
                }
                start = end
                output.append(serializedAlone(frames[index], allocator: allocator))
            }
        }
        if start == 0 && end == batch.readableBytes && end > 0 {
            output.append(batch)
        } else if end > start {
            output.append(batch.getSlice(at: start, length: end - start)!)
        }
    }

    private static func serializedAlone(_ frame: WebSocketOutgoingFrame, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: frame.header.encodedSize + frame.payload.readableBytes)
        frame.header.write(into: &buffer)
        writePayload(of: frame, into: &buffer)
        return buffer
    }

    /// Copies the payload behind the header already in `buffer`, masking it on the way if the
    /// header has a key: the payload's only copy.
    private static func writePayload(of frame: WebSocketOutgoingFrame, into buffer: inout ByteBuffer) {
        guard let maskingKey = frame.header.maskingKey else {
            buffer.writeImmutableBuffer(frame.payload)
            return
        }
        let count = frame.payload.readableBytes
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
            frame.payload.withUnsafeReadableBytes { source in
                WebSocketMasking.apply(key: maskingKey, phase: 0, from: source, to: destination)
            }
            return count
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

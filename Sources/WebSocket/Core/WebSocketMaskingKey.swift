/// The 32-bit key a client XORs over every payload it sends (RFC 6455 §5.3).
public struct WebSocketMaskingKey: Hashable, Sendable {
    public var bytes: (UInt8, UInt8, UInt8, UInt8)

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        bytes = (b0, b1, b2, b3)
    }

    /// Reads the key in wire order from a four-byte array.
    public init?(_ array: [UInt8]) {
        guard array.count == 4 else { return nil }
        self.init(array[0], array[1], array[2], array[3])
    }

    /// A key from the system's cryptographic generator: the RFC requires keys a proxy cannot
    /// predict, so a fast non-cryptographic PRNG would not do.
    public static func random() -> WebSocketMaskingKey {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> WebSocketMaskingKey {
        WebSocketMaskingKey(value: generator.next())
    }

    /// The key whose wire bytes are `value`'s, least significant first.
    init(value: UInt32) {
        self.init(
            UInt8(truncatingIfNeeded: value),
            UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value >> 16),
            UInt8(truncatingIfNeeded: value >> 24)
        )
    }

    public static func == (lhs: WebSocketMaskingKey, rhs: WebSocketMaskingKey) -> Bool {
        lhs.bytes == rhs.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0)
        hasher.combine(bytes.1)
        hasher.combine(bytes.2)
        hasher.combine(bytes.3)
    }

    subscript(index: Int) -> UInt8 {
        switch index & 3 {
        case 0: bytes.0
        case 1: bytes.1
        case 2: bytes.2
        default: bytes.3
        }
    }

    /// The key repeated over eight bytes in memory order, starting at key byte `phase`, so a
    /// whole word of payload can be XORed at once whatever the host's byte order.
    func word(phase: Int) -> UInt64 {
        var word: UInt64 = 0
        withUnsafeMutableBytes(of: &word) { raw in
            for i in 0..<8 {
                raw[i] = self[phase &+ i]
            }
        }
        return word
    }
}

/// XOR masking, eight bytes per step. Masking and unmasking are the same operation.
enum WebSocketMasking {
    /// Writes `source` XOR the key into `destination` (the two may be the same memory), where
    /// `source[0]` sits at byte `phase` of the frame's payload. This is the one pass the payload
    /// makes from the receive buffer into the message buffer.
    static func apply(
        key: WebSocketMaskingKey,
        phase: Int,
        from source: UnsafeRawBufferPointer,
        to destination: UnsafeMutableRawBufferPointer
    ) {
        precondition(destination.count >= source.count)
        let count = source.count
        guard count > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let word = key.word(phase: phase)
        var offset = 0
        // Four independent words per turn keep the loads and stores pipelined.
        while count - offset >= 32 {
            let a = src.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let b = src.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
            let c = src.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
            let d = src.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
            dst.storeBytes(of: a ^ word, toByteOffset: offset, as: UInt64.self)
            dst.storeBytes(of: b ^ word, toByteOffset: offset + 8, as: UInt64.self)
            dst.storeBytes(of: c ^ word, toByteOffset: offset + 16, as: UInt64.self)
            dst.storeBytes(of: d ^ word, toByteOffset: offset + 24, as: UInt64.self)
            offset += 32
        }
        while count - offset >= 8 {
            let a = src.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            dst.storeBytes(of: a ^ word, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        // Whole words keep the phase unchanged, so the tail starts at key byte `phase` again.
        var i = phase
        while offset < count {
            dst.storeBytes(of: src.load(fromByteOffset: offset, as: UInt8.self) ^ key[i], toByteOffset: offset, as: UInt8.self)
            offset += 1
            i += 1
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Masking keys for a client from the kernel's cryptographic generator, fetched 64 at a time:
/// the standard library's generator makes a system call per eight bytes, which for small
/// messages costs more than the framing itself. Nothing is fetched until the first key is
/// asked for, so a server's connections never pay for it.
struct WebSocketMaskingKeySource: Sendable {
    private static let batch = 64
    private var keys: [UInt32] = []
    private var next = 0

    mutating func key() -> WebSocketMaskingKey {
        if next == keys.count {
            refill()
        }
        defer { next += 1 }
        return WebSocketMaskingKey(value: keys[next])
    }

    private mutating func refill() {
        if keys.isEmpty {
            keys = Array(repeating: 0, count: Self.batch)
        }
        keys.withUnsafeMutableBytes(fillFromSystemGenerator)
        next = 0
    }
}

/// Fills `bytes` (at most 256) from the kernel's generator: unpredictable keys, as the RFC
/// requires. `getentropy` is one `getrandom` call on Linux (glibc 2.25+, musl) and exists on
/// Darwin; should it fail, the standard library's generator (the same source, eight bytes a
/// call) fills the batch instead.
private func fillFromSystemGenerator(_ bytes: UnsafeMutableRawBufferPointer) {
    precondition(bytes.count <= 256 && bytes.count % 8 == 0, "getentropy serves at most 256 bytes a call")
    if getentropy(bytes.baseAddress!, bytes.count) == 0 {
        return
    }
    var generator = SystemRandomNumberGenerator()
    for offset in stride(from: 0, to: bytes.count, by: 8) {
        bytes.storeBytes(of: generator.next() as UInt64, toByteOffset: offset, as: UInt64.self)
    }
}

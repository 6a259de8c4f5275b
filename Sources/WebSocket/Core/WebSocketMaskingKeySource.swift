#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Masking keys for a client from the system's cryptographic generator, fetched 64 at a time:
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
        // glibc (2.36 and later) and Darwin both serve this from the kernel's generator: one
        // getrandom call for the whole batch here. Unpredictable keys, as the RFC requires.
        keys.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
        next = 0
    }
}

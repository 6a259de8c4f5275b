import Crypto
import NIOHTTP1

/// Pieces of the opening handshake (RFC 6455 §4) common to both ends.
public enum WebSocketHandshake {
    /// The GUID the RFC appends to the key before hashing.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + guid).utf8))
        return Base64.encode(Array(digest))
    }

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded.
    public static func randomKey() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            let value = generator.next() as UInt64
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        }
        return Base64.encode(bytes)
    }

    /// Whether `key` is what the RFC demands: base64 of exactly 16 bytes.
    public static func isValidKey(_ key: some StringProtocol) -> Bool {
        Base64.decode(key)?.count == 16
    }

    /// All comma-separated tokens of every `name` header, trimmed and lowercased, so
    /// `Connection: keep-alive, Upgrade` and repeated headers both count.
    static func tokens(_ name: String, in headers: HTTPHeaders) -> [String] {
        headers[name].flatMap { value in
            value.split(separator: ",").map { $0.trimmingASCIIWhitespace().lowercased() }
        }.filter { !$0.isEmpty }
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}

import Crypto
import Foundation

/// API keys as Coder writes them: `<10-char id>-<22-char secret>`; the database keeps SHA-256 of
/// the secret only, so a leaked table does not leak usable tokens.
enum Tokens {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    static func random(_ length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }

    static func generate() -> (id: String, secret: String, token: String) {
        let id = random(10), secret = random(22)
        return (id, secret, "\(id)-\(secret)")
    }

    static func hash(secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Splits a presented token; nil when it is not of the expected shape.
    static func split(_ token: String) -> (id: String, secret: String)? {
        let parts = token.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 10, parts[1].count == 22 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// Constant-time equality of the hash of `secret` and `stored`.
    static func matches(secret: String, stored: [UInt8]) -> Bool {
        SHA256.hash(data: Array(secret.utf8)) == Data(stored)
    }

    /// Whether two secrets are equal, in time that depends on neither: digests are compared,
    /// so neither the content nor the length leaks.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        SHA256.hash(data: Array(a.utf8)) == Data(SHA256.hash(data: Array(b.utf8)))
    }
}

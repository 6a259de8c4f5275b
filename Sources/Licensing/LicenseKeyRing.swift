import Crypto
import Foundation
import JWTKit

/// The Ed25519 public keys licenses are checked against, by key ID (the JWT header's `kid`).
/// Coder embeds one key; we take them from `--license-public-key KID=KEY` and add the
/// deployment's own trial key, which is trusted for short trials only.
public struct LicenseKeyRing: Sendable {
    public struct Key: Sendable {
        public let publicKey: Curve25519.Signing.PublicKey
        /// A key the deployment made for its own trial: a leaked database must not be able to
        /// mint a full license, so this key verifies only `trial: true` licenses of 30 days or less.
        public let trialOnly: Bool
    }

    public private(set) var keys: [String: Key] = [:]

    public init() {}

    public mutating func add(kid: String, publicKey: Curve25519.Signing.PublicKey, trialOnly: Bool = false) {
        keys[kid] = Key(publicKey: publicKey, trialOnly: trialOnly)
    }

    public subscript(kid: String) -> Key? { keys[kid] }

    /// Adds a `KID=KEY` flag value; see `parseFlag`.
    public mutating func add(flag: String, readFile: (String) throws -> String = Self.readFile) throws(LicenseKeyError) {
        let (kid, key) = try Self.parseFlag(flag, readFile: readFile)
        add(kid: kid, publicKey: key)
    }

    /// Reads `KID=KEY`: KEY is a raw 32-byte Ed25519 public key in base64 (either alphabet,
    /// padded or not) or, when it is not one, the path of a PEM file holding the public key.
    public static func parseFlag(
        _ flag: String, readFile: (String) throws -> String = Self.readFile
    ) throws(LicenseKeyError) -> (kid: String, key: Curve25519.Signing.PublicKey) {
        guard let equals = flag.firstIndex(of: "=") else {
            throw LicenseKeyError("expected KID=KEY, got \"\(flag)\"")
        }
        let kid = String(flag[..<equals]).trimmingCharacters(in: .whitespaces)
        let value = String(flag[flag.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        guard !kid.isEmpty else { throw LicenseKeyError("the key ID before \"=\" is empty") }
        guard !value.isEmpty else { throw LicenseKeyError("the key for \(kid) is empty") }
        if let raw = Base64.decode(value), raw.count == 32 {
            do {
                return (kid, try Curve25519.Signing.PublicKey(rawRepresentation: raw))
            } catch {
                throw LicenseKeyError("the key for \(kid) is not an Ed25519 public key")
            }
        }
        let pem: String
        do {
            pem = try readFile(value)
        } catch {
            throw LicenseKeyError("the key for \(kid) is neither 32 bytes of base64 nor a readable PEM file (\(value))")
        }
        do {
            // jwt-kit's PEM reader; the ring keeps swift-crypto's key, which jwt-kit wraps too.
            let key = try EdDSA.PublicKey(pem: pem)
            return (kid, try Curve25519.Signing.PublicKey(rawRepresentation: key.rawRepresentation))
        } catch {
            throw LicenseKeyError("\(value) does not hold an Ed25519 public key in PEM")
        }
    }

    public static func readFile(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    /// The flag value that trusts `key` under `kid`, as `license keygen` prints it.
    public static func flagValue(kid: String, publicKey: Curve25519.Signing.PublicKey) -> String {
        "\(kid)=\(publicKey.rawRepresentation.base64EncodedString())"
    }
}

public struct LicenseKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

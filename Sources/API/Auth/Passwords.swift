import Crypto
import _CryptoExtras
import Foundation
import NIOPosix

/// Password hashing with PBKDF2-SHA256, stored as `$pbkdf2-sha256$<rounds>$<salt>$<hash>` (base64):
/// every hash carries the parameters it was made with, so raising `Parameters.current` takes
/// effect for each user at their next successful login (`needsRehash`), and old hashes keep working.
///
/// Public only so that a server's configuration can name the cost it hashes at
/// (`APIServer.Configuration.passwordHashing`); everything else stays inside the module.
public enum Passwords {
    /// The one place the cost is set.
    ///
    /// Outside this module the only value there is, is `.current`: the initializer is internal, so
    /// a lower cost can be made only by code that imports the module `@testable` (tests, which
    /// give their in-process servers a cheap one), never by a release build, a flag or the
    /// environment. Verification reads the rounds from the stored hash whatever the setting.
    public struct Parameters: Sendable, Equatable {
        var rounds: Int
        var saltBytes: Int
        var keyBytes: Int

        /// OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
        public static let current = Parameters(rounds: 210_000, saltBytes: 16, keyBytes: 32)

        /// Production's algorithm and sizes at a fraction of its rounds, for the servers tests run
        /// in-process: each user created or logged in costs milliseconds, not a tenth of a second.
        /// Internal, so only a `@testable` import reaches it; the executable always uses `.current`.
        static let testCost = Parameters(rounds: 1_000, saltBytes: 16, keyBytes: 32)
    }

    static func hash(_ password: String, parameters: Parameters = .current) throws -> String {
        var salt = [UInt8](repeating: 0, count: parameters.saltBytes)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = generator.next() }
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: parameters.keyBytes,
            unsafeUncheckedRounds: parameters.rounds
        )
        let hash = key.withUnsafeBytes { Data($0) }
        return "$pbkdf2-sha256$\(parameters.rounds)$\(Data(salt).base64EncodedString())$\(hash.base64EncodedString())"
    }

    /// The parameters `stored` was made with; nil if it is not one of our hashes.
    static func parameters(of stored: String) -> Parameters? {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]), rounds > 0,
              let salt = Data(base64Encoded: String(parts[2])), let key = Data(base64Encoded: String(parts[3]))
        else { return nil }
        return Parameters(rounds: rounds, saltBytes: salt.count, keyBytes: key.count)
    }

    /// True when `stored` (just verified) is weaker than `target` in any parameter: hash the
    /// password again and store that. Stronger-than-current hashes are left alone.
    static func needsRehash(_ stored: String, target: Parameters = .current) -> Bool {
        guard let parameters = parameters(of: stored) else { return true }
        return parameters.rounds < target.rounds || parameters.saltBytes < target.saltBytes || parameters.keyBytes < target.keyBytes
    }

    /// Constant-time comparison of the derived key with the stored one.
    static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]), rounds > 0,
              let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3]))
        else { return false }
        guard let key = try? KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: expected.count,
            unsafeUncheckedRounds: rounds
        ) else { return false }
        return key == SymmetricKey(data: expected)
    }

    /// `hash` and `verify` cost ~0.1 s of CPU each: they run on NIO's blocking thread pool, so
    /// that logins do not stall the cooperative threads every request shares.
    static func hashOffloaded(_ password: String, parameters: Parameters) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { try hash(password, parameters: parameters) }
    }

    static func verifyOffloaded(_ password: String, against stored: String) async -> Bool {
        (try? await NIOThreadPool.singleton.runIfActive { verify(password, against: stored) }) ?? false
    }

    /// Coder's rule, approximately: 6–64 characters and enough variety (an entropy estimate of at
    /// least 52 bits over the character classes used), so that "password" is refused.
    /// Coder's 400 for a weak password, naming the problem.
    static func checkStrength(_ password: String) throws {
        if let problem = strengthProblem(password) {
            throw APIError(.badRequest, "Password not strong enough!", validations: [.init(field: "password", detail: problem)])
        }
    }

    static func strengthProblem(_ password: String) -> String? {
        if password.count < 6 { return "password must be at least 6 characters" }
        if password.count > 64 { return "password must be no more than 64 characters" }
        var classes = 0
        if password.contains(where: { $0.isLowercase }) { classes += 26 }
        if password.contains(where: { $0.isUppercase }) { classes += 26 }
        if password.contains(where: { $0.isNumber }) { classes += 10 }
        if password.contains(where: { !$0.isLetter && !$0.isNumber }) { classes += 33 }
        // Runs of one repeated character count once.
        var effectiveLength = 0
        var previous: Character?
        for c in password where c != previous {
            effectiveLength += 1
            previous = c
        }
        let entropy = log2(Double(max(classes, 1))) * Double(effectiveLength)
        return entropy >= 52 ? nil : "insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password"
    }
}

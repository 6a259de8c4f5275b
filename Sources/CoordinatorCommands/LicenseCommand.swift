import ArgumentParser
import CoordinatorServer
import Crypto
import Foundation
import Licensing

/// `coordinator license keygen|issue`: an operator licenses their own deployment end to end.
public struct LicenseCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "license",
        abstract: "Make a license signing key and issue licenses with it.",
        subcommands: [Keygen.self, Issue.self]
    )

    public init() {}

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 private key (mode 0600) and print the --license-public-key value that trusts it."
        )

        @Option(help: "Where to write the private key (PEM). An existing file is not overwritten.")
        var out: String

        @Option(help: "The key ID that licenses signed with this key carry (default: today's date, as Coder names its key).")
        var kid: String?

        func run() throws {
            let key = LicenseSigningKey.generate()
            try writePrivateFile(out, contents: LicenseSigningKey.pem(key))
            print(LicenseKeyRing.flagValue(kid: kid ?? todaysKeyID(), publicKey: key.publicKey))
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a license (a JWT) signed with a private key from keygen.")

        @Option(help: "The private key file written by keygen.")
        var privateKey: String

        @Option(help: "The key ID the verifying deployment knows the key by.")
        var kid: String

        @Option(help: "all, or name=N,... (for example template_rbac=1,scim=1), or both.")
        var features: String = "all"

        @Option(help: "How many active users the license allows (0: no limit).")
        var userLimit: Int64 = 0

        @Option(help: "The paid term, from now: 365d, 12h, 1d12h.")
        var expires: String = "365d"

        @Option(help: "The grace period after the term, during which features keep working.")
        var grace: String = "30d"

        @Flag(help: "Mark the license as a trial.")
        var trial = false

        @Option(help: "The customer's account ID.")
        var accountId: String = ""

        @Option(help: "The customer's email (the JWT subject).")
        var email: String = ""

        func run() throws {
            guard let term = parseLicenseDuration(expires), term > 0 else {
                throw ValidationError("--expires must be a duration like 365d or 12h, not \"\(expires)\"")
            }
            guard let graceLength = parseLicenseDuration(grace), graceLength >= 0 else {
                throw ValidationError("--grace must be a duration like 30d or 0s, not \"\(grace)\"")
            }
            guard userLimit >= 0 else { throw ValidationError("--user-limit must not be negative") }
            let spec: FeatureSpec
            let key: Curve25519.Signing.PrivateKey
            do {
                spec = try FeatureSpec(parsing: features)
                key = try LicenseSigningKey.read(try String(contentsOfFile: privateKey, encoding: .utf8))
            } catch {
                throw ValidationError("\(error)")
            }
            let now = Date()
            var claims = LicenseClaims(
                issuedAt: now, licenseExpires: now + term, graceEnds: now + term + graceLength
            )
            claims.allFeatures = spec.allFeatures
            claims.features = spec.features
            if userLimit > 0 { claims.features["user_limit"] = userLimit }
            claims.trial = trial
            claims.accountID = accountId
            claims.subject = email
            print(try LicenseIssuer(privateKey: key, keyID: kid).issue(claims))
        }
    }
}

/// Durations with days, as license terms are written (`365d`, `1d12h`), else `parseDuration`'s.
func parseLicenseDuration(_ text: String) -> TimeInterval? {
    var rest = Substring(text.trimmingCharacters(in: .whitespaces))
    var seconds: TimeInterval = 0
    if let d = rest.firstIndex(of: "d"), let days = Double(rest[..<d]) {
        seconds = days * 86_400
        rest = rest[rest.index(after: d)...]
        if rest.isEmpty { return seconds.isFinite && seconds <= maximumDurationSeconds ? seconds : nil }
    }
    guard let more = parseDuration(String(rest)) else { return nil }
    let total = seconds + Double(more.components.seconds) + Double(more.components.attoseconds) / 1e18
    return total <= maximumDurationSeconds ? total : nil
}

/// Creates the file readable by its owner only, from the first byte (no window in which another
/// user could read the key), and refuses to replace an existing one.
private func writePrivateFile(_ path: String, contents: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else {
        throw ValidationError("cannot create \(path): \(String(cString: strerror(errno)))")
    }
    let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    try handle.write(contentsOf: Data(contents.utf8))
    try handle.close()
}

private func todaysKeyID() -> String {
    String(ISO8601DateFormatter().string(from: Date()).prefix(10))
}

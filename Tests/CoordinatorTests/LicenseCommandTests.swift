import Foundation
import Licensing
import TestSupport
import Testing

/// `coordinator license keygen` and `issue` through the built binary, and the license it prints
/// verified with the key keygen printed: an operator's whole path to licensing a deployment.
@Suite struct LicenseCommandTests {
    @Test func keygenThenIssueMakesALicenseTheRingVerifies() async throws {
        let dir = NSTemporaryDirectory() + "license-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keyPath = dir + "/license.key"

        let keygen = try CoordinatorProcess(["license", "keygen", "--out", keyPath, "--kid", "ops-1"])
        #expect(try await keygen.waitForExit() == 0, "\(keygen.log)")
        let flag = try #require(lastLine(keygen.log))
        #expect(flag.hasPrefix("ops-1="))
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // A second keygen never overwrites the key.
        let again = try CoordinatorProcess(["license", "keygen", "--out", keyPath])
        #expect(try await again.waitForExit() != 0)

        let issue = try CoordinatorProcess([
            "license", "issue", "--private-key", keyPath, "--kid", "ops-1",
            "--features", "template_rbac=1,scim=1", "--user-limit", "25",
            "--expires", "365d", "--grace", "30d", "--account-id", "acme",
        ])
        #expect(try await issue.waitForExit() == 0, "\(issue.log)")
        let jwt = try #require(lastLine(issue.log))

        var ring = LicenseKeyRing()
        try ring.add(flag: flag)
        let now = Date()
        let license = try LicenseVerifier(keyRing: ring).verify(jwt, now: now)
        #expect(license.features == ["template_rbac": 1, "scim": 1, "user_limit": 25])
        #expect(license.accountID == "acme")
        #expect(!license.trial)
        let term = license.licenseExpires.timeIntervalSince(now)
        #expect(abs(term - 365 * 86_400) < 120)
        #expect(license.graceEnds!.timeIntervalSince(license.licenseExpires) == 30 * 86_400)
    }

    @Test func issueRefusesAnUnknownFeature() async throws {
        let issue = try CoordinatorProcess(["license", "issue", "--private-key", "/nonexistent", "--kid", "k", "--features", "sciim=1"])
        #expect(try await issue.waitForExit() != 0)
        #expect(issue.log.contains("unknown feature \"sciim\""))
    }

    /// Terms no date can hold are refused with the flag named, never a trap.
    @Test func issueRefusesTermsNoDateCanHold() async throws {
        for (flag, value) in [("--expires", "1e300d"), ("--expires", "infd"), ("--expires", "nand1h"), ("--grace", "1e300d"), ("--grace", "-1e300d")] {
            let issue = try CoordinatorProcess(["license", "issue", "--private-key", "/nonexistent", "--kid", "k", "\(flag)=\(value)"])
            let status = try await issue.waitForExit()
            #expect(status != 0 && status < 128, "\(flag) \(value): \(issue.log)")
            #expect(issue.log.contains("\(flag) must be a duration"), "\(flag) \(value): \(issue.log)")
        }
    }

    private func lastLine(_ log: String) -> String? {
        log.split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) }
    }
}

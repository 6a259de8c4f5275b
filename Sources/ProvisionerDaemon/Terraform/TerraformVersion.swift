import Foundation
import Subprocess
import SystemPackage

/// Finds and asks the Terraform binary at start, so that a daemon that cannot run it refuses to
/// start instead of failing every job.
public enum TerraformVersion {
    public struct Unusable: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The oldest Terraform with `terraform_data` and `-json` everywhere we use it.
    static let minimum = (major: 1, minor: 4)

    /// Resolves `executable` (a path, or a name looked up on `path`) and returns its absolute
    /// path and version.
    public static func check(_ executable: String, path: String) async throws -> (executable: String, version: String) {
        guard let resolved = resolve(executable, path: path) else {
            throw Unusable(description: "\(executable) was not found (looked on PATH \(path))")
        }
        let result: CollectedResult
        do {
            let run = try await Subprocess.run(
                .path(FilePath(resolved)), arguments: ["version", "-json"],
                environment: .custom(["PATH": path, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"]),
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20)
            )
            result = CollectedResult(status: run.terminationStatus, output: run.standardOutput, error: run.standardError)
        } catch {
            throw Unusable(description: "\(resolved) could not be run: \(error)")
        }
        guard result.status.isSuccess else {
            throw Unusable(description: "\(resolved) version failed: \(result.error.prefix(500))")
        }
        struct Answer: Decodable { var terraform_version: String }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(result.output.utf8)) else {
            throw Unusable(description: "\(resolved) version -json did not answer a Terraform version")
        }
        let parts = answer.terraform_version.split(separator: ".").compactMap { Int($0.prefix { $0.isNumber }) }
        guard parts.count >= 2, (parts[0], parts[1]) >= minimum else {
            throw Unusable(description: "\(resolved) is Terraform \(answer.terraform_version); \(minimum.major).\(minimum.minor) or later is needed")
        }
        return (resolved, answer.terraform_version)
    }

    private struct CollectedResult {
        var status: TerminationStatus
        var output: String
        var error: String
    }

    static func resolve(_ executable: String, path: String) -> String? {
        if executable.contains("/") {
            let absolute = executable.hasPrefix("/") ? executable : FileManager.default.currentDirectoryPath + "/" + executable
            return FileManager.default.isExecutableFile(atPath: absolute) ? absolute : nil
        }
        for directory in path.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = directory + "/" + executable
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One job's private directory under the daemon's work directory, mode 0700:
/// `template/` (the extracted archive, Terraform's working directory, where it writes
/// `terraform.tfstate`), `data/` (`TF_DATA_DIR`), `home/` and `tmp/` for the template's commands,
/// and the plan file. Removed when the job ends unless `--keep-work-dirs`.
struct TerraformJobDirectory: Sendable {
    let root: String
    let path: String

    var template: String { path + "/template" }
    var data: String { path + "/data" }
    var home: String { path + "/home" }
    var temporary: String { path + "/tmp" }
    var plan: String { path + "/plan.tfplan" }
    var cliConfiguration: String { path + "/cli.tfrc" }
    var state: String { template + "/terraform.tfstate" }
    /// Shared by this daemon's jobs, one at a time.
    var pluginCache: String { root + "/plugin-cache" }
    /// Where a state too large to send is kept.
    var kept: String { root + "/kept" }

    init(root: String) throws {
        self.root = root
        self.path = root + "/jobs/" + UUID().uuidString.lowercased()
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try manager.createDirectory(atPath: pluginCache, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for directory in [path, template, data, home, temporary] {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            }
            // Terraform's CLI configuration: ours, empty (no credentials, no mirrors of the
            // daemon's user), never a missing file (Terraform warns about one on every command).
            guard manager.createFile(atPath: cliConfiguration, contents: Data(), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            try? manager.removeItem(atPath: path)
            throw ProvisionerFailure("could not prepare the job's directory under \(root): \(error.localizedDescription)")
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Keeps a state the coordinator cannot take, and returns where.
    func keep(stateOfJob job: String) -> String? {
        let destination = kept + "/\(job)-\(UUID().uuidString.lowercased()).tfstate"
        do {
            try FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.copyItem(atPath: state, toPath: destination)
            return destination
        } catch {
            return nil
        }
    }
}

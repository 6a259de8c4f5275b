import Foundation
import ProvisionerProtocol

/// Runs template versions and workspace builds with real Terraform (`--provisioner terraform`).
///
/// An import extracts the template, runs `init` and `plan` with the workspace variables set to
/// placeholders, and reports what a start would create. A build brings in the previous build's
/// state, plans (`plan -destroy` for a delete), commits the planned cost between plan and apply,
/// applies the saved plan, and reports the new state and the resources it holds. The state goes
/// back after every apply, also a failed or canceled one: Terraform writes partial state, and
/// losing it leaks what was created. See docs/provisioners.md.
public struct TerraformProvisioner: Provisioner {
    public let name = "terraform"
    public let configuration: TerraformConfiguration

    public init(configuration: TerraformConfiguration) {
        self.configuration = configuration
    }

    public func run(_ input: ProvisionerJobInput, progress: any ProvisionerProgress) async throws -> JobResult {
        let directory = try TerraformJobDirectory(root: configuration.workDirectory)
        defer { if !configuration.keepWorkDirectories { directory.remove() } }
        let job = TerraformJob(configuration: configuration, directory: directory, input: input, progress: progress)
        return try await job.run()
    }
}

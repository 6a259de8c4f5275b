import Foundation
import ProvisionerProtocol

/// What a provisioner is given to run, whatever the transport.
public struct ProvisionerJobInput: Sendable {
    public var jobID: UUID
    public var type: String
    public var archive: [UInt8]
    public var transition: String?
    public var state: [UInt8]?
    /// For builds, from a coordinator that sends it.
    public var workspace: JobWorkspace? = nil
    /// The template variables' values.
    public var variables: [VariableValue] = []
}

/// How a running provisioner reports back. Each call may wait while the daemon reconnects.
public protocol ProvisionerProgress: Sendable {
    /// Sends log lines; returns true when the job has been canceled and should stop.
    func log(_ lines: [LogLine]) async throws -> Bool
    /// Asks to spend `dailyCost` credits; returns whether the build may go on.
    func commitQuota(dailyCost: Int64) async throws -> Bool
    /// The coordinator's hang timeout, as its `welcome` said (nil: it did not say): a job that
    /// sends nothing for this long is failed as hung.
    var jobHangTimeout: Duration? { get }
}

extension ProvisionerProgress {
    public var jobHangTimeout: Duration? { nil }
}

public struct ProvisionerFailure: Error, Sendable, Equatable {
    public let message: String
    /// The state the provisioner left when it failed (base64), sent with the failure: a failed
    /// Terraform apply writes partial state, and losing it leaks what was created.
    public let state: String?
    public init(_ message: String, state: String? = nil) {
        self.message = message
        self.state = state
    }
}

/// One kind of provisioner (`echo`, `terraform`): independent of the protocol and transport.
public protocol Provisioner: Sendable {
    var name: String { get }
    func run(_ input: ProvisionerJobInput, progress: any ProvisionerProgress) async throws -> JobResult
}

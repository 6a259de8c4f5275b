import Foundation
import ProvisionerProtocol

/// What a provisioner is given to run, whatever the transport.
public struct ProvisionerJobInput: Sendable {
    public var type: String
    public var archive: [UInt8]
    public var transition: String?
    public var state: [UInt8]?
}

/// How a running provisioner reports back. Each call may wait while the daemon reconnects.
public protocol ProvisionerProgress: Sendable {
    /// Sends log lines; returns true when the job has been canceled and should stop.
    func log(_ lines: [LogLine]) async throws -> Bool
    /// Asks to spend `dailyCost` credits; returns whether the build may go on.
    func commitQuota(dailyCost: Int64) async throws -> Bool
}

public struct ProvisionerFailure: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// One kind of provisioner (`echo`, later `terraform`): independent of the protocol and transport.
public protocol Provisioner: Sendable {
    var name: String { get }
    func run(_ input: ProvisionerJobInput, progress: any ProvisionerProgress) async throws -> JobResult
}

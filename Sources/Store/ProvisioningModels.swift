import Foundation
import ProvisionerProtocol

public enum ProvisionerJobType: String, Sendable, Codable {
    case templateVersionImport = "template_version_import"
    case workspaceBuild = "workspace_build"
}

public struct ProvisionerJob: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    public var canceledAt: Date?
    public var completedAt: Date?
    public var error: String?
    public var errorCode: String?
    public var organizationID: UUID
    public var initiatorID: UUID
    public var provisioner: String
    public var type: ProvisionerJobType
    public var fileID: UUID
    /// JSON text: what the daemon needs to run the job (template version, build, transition…).
    public var input: String
    public var tags: [String: String]
    public var workerID: UUID?
    public var lease: JobLease?
    public var leaseLostAt: Date?
    public var lastUpdateAt: Date?
    /// The connection that holds the lease now.
    public var leaseConnectionID: UUID?
    /// Hand-overs to a daemon since the job's last update.
    public var deliveries: Int

    /// Coder's job status names.
    public var status: String {
        if let completedAt = completedAt, completedAt > .distantPast {
            if canceledAt != nil { return "canceled" }
            return error == nil || error == "" ? "succeeded" : "failed"
        }
        if canceledAt != nil { return "canceling" }
        return startedAt == nil ? "pending" : "running"
    }
}

/// The fencing token of an acquired job: only the daemon holding the current epoch may touch it.
/// The protocol's own `Lease`, so that the queue and the wire never convert between twins.
public typealias JobLease = Lease

public struct NewProvisionerJob: Sendable {
    public var id: UUID
    public var organizationID: UUID
    public var initiatorID: UUID
    public var provisioner: String
    public var type: ProvisionerJobType
    public var fileID: UUID
    public var input: String
    public var tags: [String: String]

    public init(id: UUID = UUID(), organizationID: UUID, initiatorID: UUID, provisioner: String, type: ProvisionerJobType, fileID: UUID, input: String, tags: [String: String]) {
        self.id = id
        self.organizationID = organizationID
        self.initiatorID = initiatorID
        self.provisioner = provisioner
        self.type = type
        self.fileID = fileID
        self.input = input
        self.tags = tags
    }
}

public struct ProvisionerDaemonRecord: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var updatedAt: Date?
    public var lastSeenAt: Date?
    public var name: String
    public var organizationID: UUID
    public var provisioners: [String]
    public var tags: [String: String]
    public var replicaID: UUID?
    public var version: String
    public var currentJobID: UUID?
    public var connected: Bool
    public var ownership: DaemonOwnership
    public var instanceID: String
    public var connectionID: UUID?
}

public struct JobLogLine: Sendable, Equatable, Codable {
    public var id: Int64
    public var createdAt: Date
    public var source: String
    public var level: String
    public var stage: String
    public var output: String

    public init(id: Int64 = 0, createdAt: Date = Date(), source: String = "provisioner", level: String = "info", stage: String = "", output: String) {
        self.id = id
        self.createdAt = createdAt
        self.source = source
        self.level = level
        self.stage = stage
        self.output = output
    }
}

/// A resource a job reported: the protocol's own `Resource`; costs are checked against
/// `ProvisionerLimits.dailyCostRange` before they get here.
public typealias JobResource = Resource

/// How a job ended, as the daemon reports it; the queue applies it only under a valid lease.
public enum JobOutcome: Sendable, Equatable {
    case completed(result: String)
    case failed(error: String, errorCode: String?)
}

/// Why a job update was refused.
public enum LeaseError: Error, Sendable, Equatable {
    /// The lease is not the current one (another daemon, or an older epoch), or the job ended.
    case stale
}

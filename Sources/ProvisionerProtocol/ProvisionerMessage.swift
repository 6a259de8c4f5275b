import Foundation

/// The provisioner daemon protocol: JSON objects in WebSocket text frames. Every message has a
/// `type`; requests carry an `id` that their response repeats, so a daemon may have several
/// requests in flight (an `acquire` waiting for a job while `update`s flow for another). The
/// first message each way is `hello`, which fixes the protocol version. See
/// docs/provisioner-protocol.md.
public enum ProvisionerProtocolVersion {
    public static let current = 1
    public static let supported: ClosedRange<Int> = 1...1
}

/// The serve endpoint and its parameters, shared by the daemon and the coordinator.
public enum ProvisionerServe {
    /// `/api/v2/organizations/{organization}/provisionerdaemons/serve`.
    public static func path(organization: String) -> String {
        "/api/v2/organizations/\(organization)/provisionerdaemons/serve"
    }
    public static let pskHeader = "Coder-Provisioner-Daemon-PSK"
    public static let sessionTokenHeader = "Coder-Session-Token"
    public static let buildVersionHeader = "X-Coder-Build-Version"
    /// Query parameter: a random id a daemon process picks once at start and sends on every
    /// connection. The same name and instance id is a reconnect of the same process (it replaces
    /// the older connection at once); another instance id while the name is connected is a
    /// second process with the same name, and is refused.
    public static let instanceIDParameter = "instance_id"
    public static let maxInstanceIDBytes = 128
}

/// Messages from a daemon to the coordinator.
public enum DaemonMessage: Sendable, Equatable {
    case hello(Hello)
    case acquire(id: Int64)
    case cancelAcquire(id: Int64)
    case resume(id: Int64, lease: Lease)
    case update(id: Int64, lease: Lease, logs: [LogLine])
    case commitQuota(id: Int64, lease: Lease, dailyCost: Int64)
    case complete(id: Int64, lease: Lease, result: JobResult)
    case fail(id: Int64, lease: Lease, error: String, state: String?)
}

/// Messages from the coordinator to a daemon.
public enum CoordinatorMessage: Sendable, Equatable {
    case welcome(Welcome)
    /// The answer to `acquire` (and to `resume`): a job to run, with its lease.
    case job(id: Int64, job: AcquiredJob)
    /// `acquire` was cancelled by `cancel_acquire`.
    case acquireCanceled(id: Int64)
    case updated(id: Int64, canceled: Bool)
    /// Costs, budgets and credits are 64-bit: a sum of costs never overflows.
    case quota(id: Int64, ok: Bool, creditsConsumed: Int64, budget: Int64)
    /// `complete` or `fail` was applied.
    case done(id: Int64)
    /// The job was canceled; sent unasked as soon as the coordinator learns of it.
    case cancel(jobID: UUID)
    case error(id: Int64?, code: ErrorCode, message: String)

    public enum ErrorCode: String, Sendable, Codable {
        /// The lease is not the job's current one, or the job has ended: stop working on it.
        case staleLease = "stale_lease"
        case badRequest = "bad_request"
        case unsupportedVersion = "unsupported_version"
        case internalError = "internal"
    }
}

public struct Hello: Sendable, Equatable, Codable {
    public var version: Int
    /// The daemon's own build, reported in the daemon list.
    public var daemonVersion: String
    /// What each provisioner runs (`terraform` → Terraform's version), shown in the daemons list.
    /// Optional: an older daemon does not say.
    public var provisionerVersions: [String: String]?
    public init(version: Int = ProvisionerProtocolVersion.current, daemonVersion: String, provisionerVersions: [String: String]? = nil) {
        self.version = version
        self.daemonVersion = daemonVersion
        self.provisionerVersions = provisionerVersions
    }
    enum CodingKeys: String, CodingKey {
        case version
        case daemonVersion = "daemon_version"
        case provisionerVersions = "provisioner_versions"
    }
}

public struct Welcome: Sendable, Equatable, Codable {
    public var version: Int
    public var daemonID: UUID
    public var replicaID: UUID
    /// The coordinator's `--job-hang-timeout` in milliseconds: a running job with no update for
    /// this long is failed as hung, so a daemon sends one (empty, if it has nothing to say) at
    /// least every third of it. Optional: an older coordinator does not say.
    public var jobHangTimeoutMS: Int64?
    public init(version: Int, daemonID: UUID, replicaID: UUID, jobHangTimeoutMS: Int64? = nil) {
        self.version = version
        self.daemonID = daemonID
        self.replicaID = replicaID
        self.jobHangTimeoutMS = jobHangTimeoutMS
    }
    enum CodingKeys: String, CodingKey {
        case version
        case daemonID = "daemon_id"
        case replicaID = "replica_id"
        case jobHangTimeoutMS = "job_hang_timeout_ms"
    }
}

/// The fencing token of an acquired job.
public struct Lease: Sendable, Equatable, Hashable, Codable {
    public var jobID: UUID
    public var daemonID: UUID
    public var epoch: Int32
    public init(jobID: UUID, daemonID: UUID, epoch: Int32) {
        self.jobID = jobID
        self.daemonID = daemonID
        self.epoch = epoch
    }
    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case daemonID = "daemon_id"
        case epoch
    }
}

public struct AcquiredJob: Sendable, Equatable, Codable {
    public var lease: Lease
    /// `template_version_import` or `workspace_build`.
    public var type: String
    public var provisioner: String
    /// The template archive (a tar file), base64.
    public var archive: String
    /// For builds: `start`, `stop` or `delete`; the previous state (base64) if any.
    public var transition: String?
    public var state: String?
    public var canceled: Bool
    /// For builds: the workspace the build is of, as a template sees it (Terraform's
    /// `coder_workspace_*` variables). Optional: an older coordinator does not send it.
    public var workspace: JobWorkspace?
    /// The template variables' values: for an import those given with the version, for a build
    /// those its version was imported with. Optional.
    public var variables: [VariableValue]?

    public init(lease: Lease, type: String, provisioner: String, archive: String, transition: String? = nil, state: String? = nil, canceled: Bool = false, workspace: JobWorkspace? = nil, variables: [VariableValue]? = nil) {
        self.lease = lease
        self.type = type
        self.provisioner = provisioner
        self.archive = archive
        self.transition = transition
        self.state = state
        self.canceled = canceled
        self.workspace = workspace
        self.variables = variables
    }
}

/// The workspace a build job is of.
public struct JobWorkspace: Sendable, Equatable, Codable {
    public var id: UUID
    public var name: String
    /// The owner's username and email.
    public var owner: String
    public var ownerEmail: String
    public init(id: UUID, name: String, owner: String, ownerEmail: String) {
        self.id = id
        self.name = name
        self.owner = owner
        self.ownerEmail = ownerEmail
    }
    enum CodingKeys: String, CodingKey {
        case id, name, owner
        case ownerEmail = "owner_email"
    }
}

public struct LogLine: Sendable, Equatable, Codable {
    public var level: String
    public var stage: String
    public var output: String
    public var createdAt: Date
    public init(level: String = "info", stage: String = "", output: String, createdAt: Date = Date()) {
        self.level = level
        self.stage = stage
        self.output = output
        self.createdAt = createdAt
    }
    enum CodingKeys: String, CodingKey {
        case level, stage, output
        case createdAt = "created_at"
    }
}

public struct Resource: Sendable, Equatable, Codable {
    public var name: String
    public var type: String
    /// Per day; the coordinator accepts `ProvisionerLimits.dailyCostRange`.
    public var dailyCost: Int64
    /// Where the provisioner finds it (Terraform's `terraform_data.file[0]`); optional on the
    /// wire, so that an older peer neither sends nor needs it.
    public var address: String?
    public init(name: String, type: String, dailyCost: Int64 = 0, address: String? = nil) {
        self.name = name
        self.type = type
        self.dailyCost = dailyCost
        self.address = address
    }
    enum CodingKeys: String, CodingKey {
        case name, type, address
        case dailyCost = "daily_cost"
    }
}

public struct JobResult: Sendable, Equatable, Codable {
    public var resources: [Resource]
    /// Opaque provisioner state after a build (base64).
    public var state: String?
    /// What an import found the template declares; optional (echo and older daemons send none).
    public var variables: [TemplateVariable]?
    public init(resources: [Resource], state: String? = nil, variables: [TemplateVariable]? = nil) {
        self.resources = resources
        self.state = state
        self.variables = variables
    }
}

/// A variable a template declares (Coder's `TemplateVersionVariable`, less the value, which the
/// coordinator holds).
public struct TemplateVariable: Sendable, Equatable, Codable {
    public var name: String
    public var description: String
    /// `string`, `number`, `bool`, or the declared type expression (`list(string)`).
    public var type: String
    /// The default as text (a string as it is, anything else as JSON); "" when there is none.
    public var defaultValue: String
    /// Declared without a default.
    public var required: Bool
    public var sensitive: Bool
    public init(name: String, description: String = "", type: String, defaultValue: String = "", required: Bool, sensitive: Bool = false) {
        self.name = name
        self.description = description
        self.type = type
        self.defaultValue = defaultValue
        self.required = required
        self.sensitive = sensitive
    }
    enum CodingKeys: String, CodingKey {
        case name, description, type, required, sensitive
        case defaultValue = "default_value"
    }
}

/// A value given to a template variable (Coder's `user_variable_values` entry).
public struct VariableValue: Sendable, Equatable, Codable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

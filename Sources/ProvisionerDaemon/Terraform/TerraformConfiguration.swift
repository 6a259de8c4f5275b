import Foundation

/// How a daemon runs Terraform (`coordinator provisionerd start --provisioner terraform`).
public struct TerraformConfiguration: Sendable {
    /// Absolute path of the binary, checked at start (`TerraformVersion.check`).
    public var executable: String
    /// What `terraform version` said at start, reported by the daemon.
    public var version: String
    /// Providers from a local mirror (air-gapped sites): `init -plugin-dir`, so that nothing is
    /// downloaded.
    public var pluginDirectory: String?
    /// This daemon's own directory: `jobs/<job>` for each job, `plugin-cache`, and `kept/` for a
    /// state too large to send.
    public var workDirectory: String
    /// Leave each job's directory behind for debugging.
    public var keepWorkDirectories: Bool
    /// How long a canceled (or timed-out) Terraform gets after SIGINT before SIGKILL.
    public var cancelGrace: Duration
    /// A job's Terraform commands, all together, end like a cancel after this long.
    public var timeout: Duration
    /// An empty update at least this often while Terraform is quiet, so that a long quiet apply
    /// is not failed as hung (a third of the coordinator's `--job-hang-timeout`, or less).
    public var heartbeatInterval: Duration
    /// `PATH` for Terraform and the templates' `local-exec` commands.
    public var path: String

    public init(
        executable: String, version: String, pluginDirectory: String? = nil, workDirectory: String,
        keepWorkDirectories: Bool = false, cancelGrace: Duration = .seconds(60), timeout: Duration = .seconds(30 * 60),
        heartbeatInterval: Duration = .seconds(20), path: String = "/usr/local/bin:/usr/bin:/bin"
    ) {
        self.executable = executable
        self.version = version
        self.pluginDirectory = pluginDirectory
        self.workDirectory = workDirectory
        self.keepWorkDirectories = keepWorkDirectories
        self.cancelGrace = cancelGrace
        self.timeout = timeout
        self.heartbeatInterval = heartbeatInterval
        self.path = path
    }

    /// `$XDG_CACHE_HOME/coordinator/provisionerd`, else `~/.cache/coordinator/provisionerd`;
    /// each daemon works in its own subdirectory of it (several on one host share no files).
    public static func defaultWorkDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
            return cache + "/coordinator/provisionerd"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/coordinator/provisionerd"
    }
}

import Foundation
import Provisioning
import Pubsub
import Store
import WebSocket

/// What the provisioner endpoints need from the running replica.
public struct ProvisionerServices: Sendable {
    public let acquirer: JobAcquirer
    public let connections: DaemonConnections
    public let pubsub: Pubsub
    public let replicaID: UUID
    /// `--provisioner-daemon-psk`; nil when external daemons may only use session tokens.
    public let preSharedKey: String?
    public let webSocket: WebSocketConfiguration
    public let logLimits: JobLogLimits
    /// The replica's quota commits; whether quotas are enforced, the composition root answers
    /// from the licensing (`quotaEnforced`).
    public let quotaCommits: QuotaCommits
    /// `--provisioner-daemons-per-user` and `--provisioner-daemons-per-organization`.
    public let daemonCaps: DaemonCaps
    /// `--job-hang-timeout`, told to each daemon in `welcome` (it keeps quiet jobs alive by it).
    public let jobHangTimeout: Duration?

    public init(
        acquirer: JobAcquirer, connections: DaemonConnections, pubsub: Pubsub, replicaID: UUID, preSharedKey: String?, webSocket: WebSocketConfiguration,
        logLimits: JobLogLimits = JobLogLimits(), daemonCaps: DaemonCaps = DaemonCaps(), jobHangTimeout: Duration? = nil,
        quotaEnforced: @escaping @Sendable () -> Bool = { false }
    ) {
        self.jobHangTimeout = jobHangTimeout
        self.daemonCaps = daemonCaps
        self.acquirer = acquirer
        self.connections = connections
        self.pubsub = pubsub
        self.replicaID = replicaID
        self.preSharedKey = preSharedKey
        self.webSocket = webSocket
        self.logLimits = logLimits
        self.quotaCommits = QuotaCommits(enforced: quotaEnforced)
    }
}

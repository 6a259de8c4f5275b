import API
import Licensing
import Replicas
import Store
import UnixSignals

extension CoordinatorServer {
    /// Everything one replica is configured with. The executable fills it from flags and the
    /// environment (and checks them, naming the flag in its messages); a test fills it in directly.
    public struct Configuration: Sendable {
        /// Reported by `/buildinfo` and `/healthz`. The replica's own row carries `replica.version`.
        public var version: String
        /// Where the API listens. Port 0 lets the system choose; `onServing` tells which it chose.
        public var host: String
        public var port: Int
        /// The URL users reach this deployment at: links, cookie security and the WebSocket
        /// origin rule derive from it.
        public var accessURL: String
        public var database: Database.Configuration
        public var replica: ReplicaConfiguration
        /// How long a job waits for its disconnected daemon to come back before it fails.
        public var jobOrphanGrace: Duration
        /// A running job with no update for this long fails.
        public var jobHangTimeout: Duration
        public var connectionLimits: ConnectionLimits
        public var loginPolicy: LoginThrottle.Policy
        public var proxyTrust: ProxyTrust
        /// The key external provisioner daemons may authenticate with; nil: session tokens only.
        public var provisionerPreSharedKey: String?
        public var jobLogLimits: JobLogLimits
        /// Connected daemons per user and per organization (`--provisioner-daemons-per-user`,
        /// `--provisioner-daemons-per-organization`).
        public var provisionerDaemonCaps: DaemonCaps
        public var licensing: LicenseSettings
        /// The key IdPs present to SCIM (`--scim-auth-header`); nil: SCIM is off.
        public var scimKey: String?
        /// Where `/metrics` is served (`--prometheus-address`), on a listener of its own with no
        /// authentication, as Coder; nil: no metrics listener (`--prometheus-enable` off).
        public var prometheus: ListenAddress?
        /// How long job logs, audit rows, daemons and replica rows are kept (`replica.retention`
        /// keeps its own flag and feeds `retention.replicas`), and how often they are purged.
        public var retention: RetentionPolicy
        public var purgeInterval: Duration
        /// HTTPS beside HTTP (`--tls-address`, `--tls-cert-file`, `--tls-key-file`); nil: none.
        public var tls: TLSSettings?
        /// Backstop: a connection that ignores the quiesce request cannot hold the shutdown forever.
        public var maximumGracefulShutdownDuration: Duration
        /// Signals that start a graceful shutdown. A server run in-process, by a test or inside a
        /// larger service group, takes none and is stopped by its group or by cancellation.
        public var gracefulShutdownSignals: [UnixSignal]
        /// The cost new password hashes are made at (`APIServer.Configuration.passwordHashing`):
        /// `.current`, which the executable never changes (no flag or environment variable sets
        /// it, and `init` takes none); a test running the server in-process sets a cheap one.
        public var passwordHashing: Passwords.Parameters = .current

        /// The defaults are those of `coordinator server`; `accessURL` defaults to `http://host:port`.
        public init(
            version: String,
            host: String = "127.0.0.1",
            port: Int = 3000,
            accessURL: String? = nil,
            database: Database.Configuration,
            replica: ReplicaConfiguration,
            jobOrphanGrace: Duration = .seconds(30),
            jobHangTimeout: Duration = .seconds(300),
            connectionLimits: ConnectionLimits = ConnectionLimits(),
            loginPolicy: LoginThrottle.Policy = LoginThrottle.Policy(),
            proxyTrust: ProxyTrust = ProxyTrust(),
            provisionerPreSharedKey: String? = nil,
            jobLogLimits: JobLogLimits = JobLogLimits(),
            provisionerDaemonCaps: DaemonCaps = DaemonCaps(),
            licensing: LicenseSettings = LicenseSettings(),
            scimKey: String? = nil,
            prometheus: ListenAddress? = nil,
            retention: RetentionPolicy? = nil,
            purgeInterval: Duration = .seconds(600),
            tls: TLSSettings? = nil,
            maximumGracefulShutdownDuration: Duration = .seconds(15),
            gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]
        ) {
            self.version = version
            self.host = host
            self.port = port
            self.accessURL = accessURL ?? "http://\(host):\(port)"
            self.database = database
            self.replica = replica
            self.jobOrphanGrace = jobOrphanGrace
            self.jobHangTimeout = jobHangTimeout
            self.connectionLimits = connectionLimits
            self.loginPolicy = loginPolicy
            self.proxyTrust = proxyTrust
            self.provisionerPreSharedKey = provisionerPreSharedKey
            self.jobLogLimits = jobLogLimits
            self.provisionerDaemonCaps = provisionerDaemonCaps
            self.licensing = licensing
            self.scimKey = scimKey
            self.prometheus = prometheus
            self.retention = retention ?? RetentionPolicy(replicas: replica.retention)
            self.purgeInterval = purgeInterval
            self.tls = tls
            self.maximumGracefulShutdownDuration = maximumGracefulShutdownDuration
            self.gracefulShutdownSignals = gracefulShutdownSignals
        }

        /// A host and port to listen on (port 0: the system chooses).
        public struct ListenAddress: Sendable, Equatable {
            public var host: String
            public var port: Int
            public init(host: String, port: Int) {
                self.host = host
                self.port = port
            }
        }

        /// Where HTTPS is served and the PEM files it presents (re-read on SIGHUP).
        public struct TLSSettings: Sendable, Equatable {
            public var address: ListenAddress
            public var certificateFile: String
            public var keyFile: String
            public init(address: ListenAddress, certificateFile: String, keyFile: String) {
                self.address = address
                self.certificateFile = certificateFile
                self.keyFile = keyFile
            }
        }

        /// Which keys licenses are checked against, and what the deployment switches on.
        public struct LicenseSettings: Sendable {
            /// `--license-public-key`; the deployment's own trial key is added at start.
            public var keyRing: LicenseKeyRing
            /// Live replicas younger than this do not count for the HA check (Coder's
            /// `ReplicaErrorGracePeriod`).
            public var haGrace: Duration
            /// Audit rows are written (when the license has `audit_log`).
            public var auditLogging: Bool
            public var browserOnly: Bool
            /// Template RBAC (groups, template ACLs and quotas) is switched on.
            public var templateRBAC: Bool

            public init(
                keyRing: LicenseKeyRing = LicenseKeyRing(), haGrace: Duration = .seconds(60), auditLogging: Bool = true,
                browserOnly: Bool = false, templateRBAC: Bool = true
            ) {
                self.keyRing = keyRing
                self.haGrace = haGrace
                self.auditLogging = auditLogging
                self.browserOnly = browserOnly
                self.templateRBAC = templateRBAC
            }

            /// The enablements of Coder's entitlements algorithm, from this configuration.
            func enablements(relayAddress: String, scimConfigured: Bool) -> [FeatureName: Bool] {
                [
                    .auditLog: auditLogging,
                    .browserOnly: browserOnly,
                    .scim: scimConfigured,
                    .templateRBAC: templateRBAC,
                    // v0.17: a replica with a relay address is meant to run beside others.
                    .highAvailability: !relayAddress.isEmpty,
                    // Coder switches these on always; appearance is on whenever entitled.
                    .externalProvisionerDaemons: true,
                ]
            }
        }
    }
}

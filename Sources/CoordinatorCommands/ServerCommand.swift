import API
import ArgumentParser
import CoordinatorServer
import Foundation
import Licensing
import Logging
import Replicas
import Store

/// `coordinator server`: one replica, configured by flags, then environment variables, then
/// defaults. `makeConfiguration()` is what the flags say; `run()` serves it until SIGTERM or SIGINT.
/// A test parses the same flags (`ServerCommand.parse([...])`) and runs that configuration in its
/// own process.
public struct ServerCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "server", abstract: "Run a coordinator replica.")

    public init() {}

    @OptionGroup var database: DatabaseOptions

    @Option(name: .customLong("http-address"), help: "Address to serve the API on. (env: CODER_HTTP_ADDRESS; default: 127.0.0.1:3000)")
    var httpAddressFlag: String?

    @Flag(name: .customLong("prometheus-enable"), help: "Serve Prometheus metrics at /metrics on --prometheus-address, without authentication. (env: CODER_PROMETHEUS_ENABLE)")
    var prometheusEnableFlag = false

    @Option(name: .customLong("prometheus-address"), help: "Address of the metrics listener. (env: CODER_PROMETHEUS_ADDRESS; default: 127.0.0.1:2112)")
    var prometheusAddressFlag: String?

    @Flag(name: .customLong("tls-enable"), help: "Serve HTTPS on --tls-address too (implied by --tls-cert-file). (env: CODER_TLS_ENABLE)")
    var tlsEnableFlag = false

    @Option(name: .customLong("tls-address"), help: "Address to serve HTTPS on. (env: CODER_TLS_ADDRESS; default: 127.0.0.1:3443)")
    var tlsAddressFlag: String?

    @Option(name: .customLong("tls-cert-file"), help: "PEM certificate chain for HTTPS; re-read with the key on SIGHUP. (env: CODER_TLS_CERT_FILE)")
    var tlsCertFileFlag: String?

    @Option(name: .customLong("tls-key-file"), help: "PEM private key of --tls-cert-file. (env: CODER_TLS_KEY_FILE)")
    var tlsKeyFileFlag: String?

    @Option(name: .customLong("access-url"), help: "The URL users reach this deployment at. (env: CODER_ACCESS_URL)")
    var accessURLFlag: String?

    @Option(name: .customLong("relay-address"), help: "http(s) URL at which peer replicas reach this one (probed at /derp/latency-check). (env: CODER_DERP_SERVER_RELAY_URL)")
    var relayAddressFlag: String?

    @Option(name: .customLong("region-id"), help: "Region of this replica; it probes the relay addresses of peers in the same region. (env: CODER_DERP_SERVER_REGION_ID; default: 999)")
    var regionIDFlag: Int32?

    @Option(name: .customLong("heartbeat-interval"), help: "How often this replica heartbeats; peers consider it gone after three missed beats. (env: COORDINATOR_HEARTBEAT_INTERVAL; default: 1s)")
    var heartbeatIntervalFlag: String?

    @Option(name: .customLong("replica-poll-interval"), help: "Backup poll of the live replica set, which also bounds how long a crashed peer stays listed. (env: COORDINATOR_REPLICA_POLL_INTERVAL; default: 250ms)")
    var pollIntervalFlag: String?

    @Option(name: .customLong("job-log-retention"), help: "Delete the log lines of jobs finished this long ago (a workspace's latest build keeps its logs); 0 keeps them. (env: COORDINATOR_JOB_LOG_RETENTION; default: 90d)")
    var jobLogRetentionFlag: String?

    @Option(name: .customLong("audit-logs-retention"), help: "Delete audit rows older than this; 0 keeps them. (env: CODER_AUDIT_LOGS_RETENTION; default: 90d)")
    var auditLogsRetentionFlag: String?

    @Option(name: .customLong("provisioner-daemon-retention"), help: "Delete daemons neither connected nor seen for this long; 0 keeps them. (env: COORDINATOR_PROVISIONER_DAEMON_RETENTION; default: 7d)")
    var daemonRetentionFlag: String?

    @Option(name: .customLong("retention-purge-interval"), help: "How often one replica purges what is past its retention. (env: COORDINATOR_RETENTION_PURGE_INTERVAL; default: 10m)")
    var purgeIntervalFlag: String?

    @Option(name: .customLong("replica-retention"), help: "Delete rows of replicas silent for this long. (env: COORDINATOR_REPLICA_RETENTION; default: 24h)")
    var retentionFlag: String?

    @Option(name: .customLong("provisioner-daemon-psk"), help: "Pre-shared key external provisioner daemons may authenticate with (header Coder-Provisioner-Daemon-PSK). (env: CODER_PROVISIONER_DAEMON_PSK)")
    var provisionerPSKFlag: String?

    @Option(name: .customLong("provisioner-daemon-psk-file"), help: "A file holding the pre-shared key, instead of --provisioner-daemon-psk. (env: COORDINATOR_PROVISIONER_DAEMON_PSK_FILE)")
    var provisionerPSKFileFlag: String?

    @Option(name: .customLong("http-header-timeout"), help: "How long a new connection may take to send its first request head before it is closed (60s at most). (env: COORDINATOR_HTTP_HEADER_TIMEOUT; default: 30s)")
    var headerTimeoutFlag: String?

    @Option(name: .customLong("http-idle-timeout"), help: "A keep-alive connection with no request in progress for this long is closed. (env: COORDINATOR_HTTP_IDLE_TIMEOUT; default: 60s)")
    var idleTimeoutFlag: String?

    @Option(name: .customLong("http-max-connections"), help: "Connections (WebSockets included) this replica serves at once; one more is answered 503. (env: COORDINATOR_HTTP_MAX_CONNECTIONS; default: 20000)")
    var maxConnectionsFlag: Int?

    @Option(name: .customLong("max-connections-per-address"), help: "Connections one client address may hold at once, counted from accept (a trusted proxy's connections from their first request, as the client its headers name; an IPv6 client by its /64); one more is answered 429. Trusted proxies themselves are exempt. (env: COORDINATOR_MAX_CONNECTIONS_PER_ADDRESS; default: 1000)")
    var maxConnectionsPerAddressFlag: Int?

    @Option(name: .customLong("provisioner-daemons-per-user"), help: "User daemons (tag scope=user) one user may have connected to an organization at once, and a tenth of the daemon names they may hold there; one more is refused with 429. (env: COORDINATOR_PROVISIONER_DAEMONS_PER_USER; default: 10)")
    var daemonsPerUserFlag: Int?

    @Option(name: .customLong("provisioner-daemons-per-organization"), help: "Daemons of every owner connected to one organization at once; one more is refused with 429. (env: COORDINATOR_PROVISIONER_DAEMONS_PER_ORGANIZATION; default: 20000)")
    var daemonsPerOrganizationFlag: Int?

    @Option(name: .customLong("job-orphan-grace"), help: "How long a job waits for its disconnected daemon to come back before it fails. (env: COORDINATOR_JOB_ORPHAN_GRACE; default: 30s)")
    var orphanGraceFlag: String?

    @Option(name: .customLong("job-hang-timeout"), help: "A running job with no update for this long fails. (env: COORDINATOR_JOB_HANG_TIMEOUT; default: 5m)")
    var hangTimeoutFlag: String?

    @Option(name: .customLong("job-log-max-lines"), help: "Log lines one job may write; later ones are dropped after one notice line. (env: COORDINATOR_JOB_LOG_MAX_LINES; default: 50000)")
    var jobLogMaxLinesFlag: Int?

    @Option(name: .customLong("job-log-max-bytes"), help: "Bytes of log output one job may write. (env: COORDINATOR_JOB_LOG_MAX_BYTES; default: 16777216)")
    var jobLogMaxBytesFlag: Int?

    @Option(name: .customLong("proxy-trusted-origins"), help: "Comma-separated CIDRs of proxies whose --proxy-trusted-headers name the client's address. (env: CODER_PROXY_TRUSTED_ORIGINS)")
    var trustedOriginsFlag: String?

    @Option(name: .customLong("proxy-trusted-headers"), help: "Comma-separated headers (such as X-Forwarded-For) a trusted proxy sets to the client's address. (env: CODER_PROXY_TRUSTED_HEADERS)")
    var trustedHeadersFlag: String?

    @Option(name: .customLong("login-max-failures-per-account"), help: "Failed logins for one email within the window before it is refused with 429. (env: COORDINATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT; default: 10)")
    var accountFailuresFlag: Int?

    @Option(name: .customLong("login-max-failures-per-address"), help: "Failed logins from one client address within the window before it is refused with 429. (env: COORDINATOR_LOGIN_MAX_FAILURES_PER_ADDRESS; default: 50)")
    var addressFailuresFlag: Int?

    @Option(name: .customLong("login-failure-window"), help: "How long a failed login counts against its account and address. (env: COORDINATOR_LOGIN_FAILURE_WINDOW; default: 5m)")
    var failureWindowFlag: String?

    @Option(name: .customLong("license-public-key"), help: "KID=KEY: trust licenses signed with this Ed25519 public key under this key ID; KEY is 32 bytes in base64 or a PEM file. Repeatable. (env: COORDINATOR_LICENSE_PUBLIC_KEYS, comma-separated)")
    var licensePublicKeyFlags: [String] = []

    @Option(name: .customLong("ha-grace"), help: "Live replicas younger than this do not count for the high-availability check, so a rolling restart raises no error. (env: COORDINATOR_HA_GRACE; default: 1m)")
    var haGraceFlag: String?

    @Option(name: .customLong("audit-logging"), help: "Write audit rows while the license has audit_log: true or false. (env: CODER_AUDIT_LOGGING; default: true)")
    var auditLoggingFlag: String?

    @Option(name: .customLong("browser-only"), help: "Allow workspace connections from the browser only: true or false. (env: CODER_BROWSER_ONLY; default: false)")
    var browserOnlyFlag: String?

    @Option(name: .customLong("scim-auth-header"), help: "The key IdPs present to /scim/v2 (Authorization: Bearer <key>); without it SCIM is off. (env: CODER_SCIM_AUTH_HEADER)")
    var scimKeyFlag: String?

    @Option(name: .customLong("scim-auth-header-file"), help: "A file holding the SCIM key, instead of --scim-auth-header. (env: COORDINATOR_SCIM_AUTH_HEADER_FILE)")
    var scimKeyFileFlag: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. (env: COORDINATOR_LOG_LEVEL; default: info)")
    var logLevelFlag: String?

    @Option(name: .customLong("log-format"), help: "human (one line of text per event) or json (one JSON object per line, with the replica's and the request's ids). (env: COORDINATOR_LOG_FORMAT; default: human)")
    var logFormatFlag: String?

    public func run() async throws {
        do {
            let configuration = try makeConfiguration()
            switch Environment.value(logFormatFlag, "COORDINATOR_LOG_FORMAT") ?? "human" {
            case "human":
                break
            case "json":
                let replicaID = configuration.replica.id
                LoggingSystem.bootstrap { label in JSONLogHandler(label: label, replicaID: replicaID) }
            case let other:
                throw StartupError("--log-format must be human or json, not \"\(other)\"")
            }
            let logger = try makeLogger()
            try await CoordinatorServer(configuration: configuration, logger: logger).run()
        } catch let error as StartupError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Flags win over environment variables, which win over defaults; a bad value stops the
    /// server with one line naming its flag (a `StartupError`, or a `ValidationError` for a
    /// secret given both ways). Signals and password hashing are the executable's: SIGTERM and
    /// SIGINT, `.current`.
    public func makeConfiguration() throws -> CoordinatorServer.Configuration {
        let (host, port) = try parseAddress(Environment.value(httpAddressFlag, "CODER_HTTP_ADDRESS") ?? "127.0.0.1:3000", flag: "--http-address")
        var prometheus: CoordinatorServer.Configuration.ListenAddress?
        if try prometheusEnableFlag || boolean(nil, "CODER_PROMETHEUS_ENABLE", "CODER_PROMETHEUS_ENABLE", default: false) {
            let (metricsHost, metricsPort) = try parseAddress(Environment.value(prometheusAddressFlag, "CODER_PROMETHEUS_ADDRESS") ?? "127.0.0.1:2112", flag: "--prometheus-address")
            prometheus = .init(host: metricsHost, port: metricsPort)
        }
        let tls = try makeTLS()
        let replica = try makeReplicaConfiguration()
        let orphanGrace = try duration(orphanGraceFlag, "COORDINATOR_JOB_ORPHAN_GRACE", "--job-orphan-grace", default: .seconds(30))
        let hangTimeout = try duration(hangTimeoutFlag, "COORDINATOR_JOB_HANG_TIMEOUT", "--job-hang-timeout", default: .seconds(300))
        let connectionLimits = try makeConnectionLimits()
        let loginPolicy = LoginThrottle.Policy(
            failuresPerAccount: try positiveInteger(accountFailuresFlag, "COORDINATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT", "--login-max-failures-per-account", default: 10),
            failuresPerAddress: try positiveInteger(addressFailuresFlag, "COORDINATOR_LOGIN_MAX_FAILURES_PER_ADDRESS", "--login-max-failures-per-address", default: 50),
            window: try duration(failureWindowFlag, "COORDINATOR_LOGIN_FAILURE_WINDOW", "--login-failure-window", default: .seconds(300))
        )
        let proxyTrust = try makeProxyTrust()
        let preSharedKey = try Environment.secret(
            provisionerPSKFlag, ["CODER_PROVISIONER_DAEMON_PSK"], file: provisionerPSKFileFlag, ["COORDINATOR_PROVISIONER_DAEMON_PSK_FILE"],
            option: "provisioner-daemon-psk"
        )
        return CoordinatorServer.Configuration(
            version: CoordinatorVersion.current, host: host, port: port, accessURL: Environment.value(accessURLFlag, "CODER_ACCESS_URL"),
            database: try database.configuration, replica: replica, jobOrphanGrace: orphanGrace, jobHangTimeout: hangTimeout,
            connectionLimits: connectionLimits, loginPolicy: loginPolicy, proxyTrust: proxyTrust,
            provisionerPreSharedKey: preSharedKey, jobLogLimits: try makeLogLimits(),
            provisionerDaemonCaps: DaemonCaps(
                perUser: try positiveInteger(daemonsPerUserFlag, "COORDINATOR_PROVISIONER_DAEMONS_PER_USER", "--provisioner-daemons-per-user", default: 10),
                perOrganization: try positiveInteger(
                    daemonsPerOrganizationFlag, "COORDINATOR_PROVISIONER_DAEMONS_PER_ORGANIZATION", "--provisioner-daemons-per-organization", default: 20_000
                )
            ),
            licensing: try makeLicensing(),
            scimKey: try Environment.secret(
                scimKeyFlag, ["CODER_SCIM_AUTH_HEADER"], file: scimKeyFileFlag, ["COORDINATOR_SCIM_AUTH_HEADER_FILE"], option: "scim-auth-header"
            ),
            prometheus: prometheus,
            retention: RetentionPolicy(
                jobLogs: try retention(jobLogRetentionFlag, "COORDINATOR_JOB_LOG_RETENTION", "--job-log-retention", default: .seconds(90 * 86_400)),
                auditLogs: try retention(auditLogsRetentionFlag, "CODER_AUDIT_LOGS_RETENTION", "--audit-logs-retention", default: .seconds(90 * 86_400)),
                daemons: try retention(daemonRetentionFlag, "COORDINATOR_PROVISIONER_DAEMON_RETENTION", "--provisioner-daemon-retention", default: .seconds(7 * 86_400)),
                replicas: replica.retention
            ),
            purgeInterval: try duration(purgeIntervalFlag, "COORDINATOR_RETENTION_PURGE_INTERVAL", "--retention-purge-interval", default: .seconds(600)),
            tls: tls
        )
    }

    /// A retention period; `0` (or `0s`) keeps everything: nil.
    private func retention(_ flag: String?, _ variable: String, _ name: String, default value: Duration) throws -> Duration? {
        guard let raw = Environment.value(flag, variable) else { return value }
        if raw.trimmingCharacters(in: .whitespaces) == "0" { return nil }
        guard let parsed = parseDuration(raw), parsed >= .zero else { throw StartupError("\(name) must be a duration like 7d or 12h, or 0 to keep everything, not \"\(raw)\"") }
        return parsed == .zero ? nil : parsed
    }

    /// HTTPS beside HTTP when a certificate is given (or `--tls-enable`, which then needs one).
    private func makeTLS() throws -> CoordinatorServer.Configuration.TLSSettings? {
        let certificate = Environment.value(tlsCertFileFlag, "CODER_TLS_CERT_FILE")
        let key = Environment.value(tlsKeyFileFlag, "CODER_TLS_KEY_FILE")
        let enabled = try tlsEnableFlag || boolean(nil, "CODER_TLS_ENABLE", "CODER_TLS_ENABLE", default: false)
        guard enabled || certificate != nil || key != nil else { return nil }
        guard let certificate, !certificate.isEmpty, let key, !key.isEmpty else {
            throw StartupError("TLS needs both --tls-cert-file and --tls-key-file")
        }
        let (host, port) = try parseAddress(Environment.value(tlsAddressFlag, "CODER_TLS_ADDRESS") ?? "127.0.0.1:3443", flag: "--tls-address")
        return .init(address: .init(host: host, port: port), certificateFile: certificate, keyFile: key)
    }

    private func makeLicensing() throws -> CoordinatorServer.Configuration.LicenseSettings {
        let flags = licensePublicKeyFlags.isEmpty
            ? (Environment.value(nil, "COORDINATOR_LICENSE_PUBLIC_KEYS") ?? "").split(separator: ",").map(String.init)
            : licensePublicKeyFlags
        var keyRing = LicenseKeyRing()
        for flag in flags.map({ $0.trimmingCharacters(in: .whitespaces) }) where !flag.isEmpty {
            do {
                try keyRing.add(flag: flag)
            } catch {
                throw StartupError("--license-public-key: \(error.message)")
            }
        }
        var haGrace = Duration.seconds(60)
        if let raw = Environment.value(haGraceFlag, "COORDINATOR_HA_GRACE") {
            // Zero is allowed: every live replica counts at once.
            guard let parsed = parseDuration(raw), parsed >= .zero else { throw StartupError("--ha-grace must be a duration like 30s or 1m, not \"\(raw)\"") }
            haGrace = parsed
        }
        return .init(
            keyRing: keyRing, haGrace: haGrace,
            auditLogging: try boolean(auditLoggingFlag, "CODER_AUDIT_LOGGING", "--audit-logging", default: true),
            browserOnly: try boolean(browserOnlyFlag, "CODER_BROWSER_ONLY", "--browser-only", default: false)
        )
    }

    private func boolean(_ flag: String?, _ variable: String, _ name: String, default value: Bool) throws -> Bool {
        guard let raw = Environment.value(flag, variable) else { return value }
        switch raw.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw StartupError("\(name) must be true or false, not \"\(raw)\"")
        }
    }

    private func duration(_ flag: String?, _ variable: String, _ name: String, default value: Duration) throws -> Duration {
        guard let raw = Environment.value(flag, variable) else { return value }
        guard let parsed = parseDuration(raw) else { throw StartupError("\(name) must be a duration like 500ms, 1s or 2m, not \"\(raw)\"") }
        guard parsed > .zero else { throw StartupError("\(name) must be positive") }
        return parsed
    }

    private func positiveInteger(_ flag: Int?, _ variable: String, _ name: String, default value: Int) throws -> Int {
        guard let raw = Environment.value(flag.map(String.init), variable) else { return value }
        guard let parsed = Int(raw), parsed > 0 else { throw StartupError("\(name) must be a positive integer, not \"\(raw)\"") }
        return parsed
    }

    private func makeConnectionLimits() throws -> ConnectionLimits {
        let header = try duration(headerTimeoutFlag, "COORDINATOR_HTTP_HEADER_TIMEOUT", "--http-header-timeout", default: .seconds(30))
        guard header <= .seconds(60) else { throw StartupError("--http-header-timeout must be 60s or less") }
        return ConnectionLimits(
            headerReadTimeout: header,
            idleTimeout: try duration(idleTimeoutFlag, "COORDINATOR_HTTP_IDLE_TIMEOUT", "--http-idle-timeout", default: .seconds(60)),
            maximumConnections: try positiveInteger(maxConnectionsFlag, "COORDINATOR_HTTP_MAX_CONNECTIONS", "--http-max-connections", default: 20_000),
            maximumConnectionsPerAddress: try positiveInteger(
                maxConnectionsPerAddressFlag, "COORDINATOR_MAX_CONNECTIONS_PER_ADDRESS", "--max-connections-per-address", default: 1000
            )
        )
    }

    private func makeProxyTrust() throws -> ProxyTrust {
        func list(_ raw: String?) -> [String] {
            (raw ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        do {
            return try ProxyTrust(
                origins: list(Environment.value(trustedOriginsFlag, "CODER_PROXY_TRUSTED_ORIGINS")),
                headers: list(Environment.value(trustedHeadersFlag, "CODER_PROXY_TRUSTED_HEADERS"))
            )
        } catch let error as ProxyTrust.ParseError {
            throw StartupError(error.description)
        }
    }

    private func makeLogLimits() throws -> JobLogLimits {
        let defaults = JobLogLimits()
        return JobLogLimits(
            maxLines: try positiveInteger(jobLogMaxLinesFlag, "COORDINATOR_JOB_LOG_MAX_LINES", "--job-log-max-lines", default: defaults.maxLines),
            maxBytes: try positiveInteger(jobLogMaxBytesFlag, "COORDINATOR_JOB_LOG_MAX_BYTES", "--job-log-max-bytes", default: defaults.maxBytes)
        )
    }

    private func makeReplicaConfiguration() throws -> ReplicaConfiguration {
        let regionRaw = Environment.value(regionIDFlag.map { String($0) }, "CODER_DERP_SERVER_REGION_ID") ?? "999"
        guard let regionID = Int32(regionRaw) else { throw StartupError("--region-id must be an integer, not \"\(regionRaw)\"") }
        let configuration = ReplicaConfiguration(
            hostname: ProcessInfo.processInfo.hostName,
            regionID: regionID,
            relayAddress: Environment.value(relayAddressFlag, "CODER_DERP_SERVER_RELAY_URL") ?? "",
            version: CoordinatorVersion.current,
            heartbeatInterval: try duration(heartbeatIntervalFlag, "COORDINATOR_HEARTBEAT_INTERVAL", "--heartbeat-interval", default: .seconds(1)),
            pollInterval: try duration(pollIntervalFlag, "COORDINATOR_REPLICA_POLL_INTERVAL", "--replica-poll-interval", default: .milliseconds(250)),
            retention: try duration(retentionFlag, "COORDINATOR_REPLICA_RETENTION", "--replica-retention", default: .seconds(24 * 3600))
        )
        do {
            try configuration.validate()
        } catch {
            throw StartupError(error.description)
        }
        return configuration
    }

    private func makeLogger() throws -> Logger {
        var logger = Logger(label: "coordinator")
        logger.logLevel = try logLevel()
        return logger
    }

    /// `--log-level` (then `COORDINATOR_LOG_LEVEL`, then info); an unknown name is a `StartupError`.
    public func logLevel() throws -> Logger.Level {
        let raw = Environment.value(logLevelFlag, "COORDINATOR_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: raw) else { throw StartupError("--log-level must be one of trace, debug, info, notice, warning, error, critical; not \"\(raw)\"") }
        return level
    }
}

/// `host:port`, `[v6]:port` or `:port`.
func parseAddress(_ address: String, flag: String) throws -> (String, Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
        throw StartupError("\(flag) must be host:port, not \"\(address)\"")
    }
    var host = String(address[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "0.0.0.0" : host, port)
}

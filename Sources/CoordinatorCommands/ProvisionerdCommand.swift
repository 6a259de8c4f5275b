import ArgumentParser
import CoordinatorServer
import Foundation
import NIOSSL
import Logging
import ProvisionerDaemon
import ProvisionerProtocol
import ServiceLifecycle

public struct ProvisionerdCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "provisionerd",
        abstract: "Run an external provisioner daemon.",
        subcommands: [Start.self]
    )

    public init() {}

    /// `coordinator provisionerd start`: `daemonConfiguration()` is the daemon the flags (and the
    /// environment) describe; `run()` runs it until SIGTERM or SIGINT. A test parses the same
    /// flags (`ProvisionerdCommand.Start.parse([...])`) and runs that daemon in its own process.
    public struct Start: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "Connect to coordinators and run their jobs until SIGTERM or SIGINT.")

        public init() {}

        @Option(name: .customLong("url"), help: "Coordinator URL; repeat for failover, tried in order. (env: CODER_URL)")
        var urls: [String] = []

        @Option(name: .customLong("psk"), help: "Pre-shared key. (env: CODER_PROVISIONER_DAEMON_PSK)")
        var psk: String?

        @Option(name: .customLong("psk-file"), help: "A file holding the pre-shared key, instead of --psk. (env: CODER_PROVISIONER_DAEMON_PSK_FILE)")
        var pskFile: String?

        @Option(name: .customLong("token"), help: "Session token. (env: CODER_SESSION_TOKEN)")
        var token: String?

        @Option(name: .customLong("provisioner"), help: "Provisioner types to run: echo, terraform; repeatable. (default: echo)")
        var provisioners: [String] = []

        @Option(name: .customLong("terraform-path"), help: "The Terraform binary, a path or a name on PATH; checked at start.")
        var terraformPath: String = "terraform"

        @Option(name: .customLong("terraform-plugin-dir"), help: "Providers from a local mirror (air-gapped sites): passed to terraform init as -plugin-dir, so nothing is downloaded.")
        var terraformPluginDirectory: String?

        @Option(name: .customLong("work-dir"), help: "Where jobs run, in a subdirectory per daemon name. (default: $XDG_CACHE_HOME/coordinator/provisionerd, else ~/.cache/coordinator/provisionerd)")
        var workDirectory: String?

        @Flag(name: .customLong("keep-work-dirs"), help: "Leave each job's directory behind, for debugging.")
        var keepWorkDirectories = false

        @Option(name: .customLong("terraform-cancel-grace"), help: "How long a canceled Terraform gets after SIGINT before it is killed, e.g. 60s.")
        var terraformCancelGrace: String = "60s"

        @Option(name: .customLong("terraform-timeout"), help: "A job's Terraform commands end like a cancel after this long, e.g. 30m.")
        var terraformTimeout: String = "30m"

        @Option(name: .customLong("tag"), help: "Tags as key=value; repeatable.")
        var tags: [String] = []

        @Option(name: .customLong("name"), help: "Daemon name, unique in its organization. (default: the host name)")
        var name: String?

        @Option(name: .customLong("organization"), help: "Organization id or name; `default` is the default organization.")
        var organization: String = "default"

        @Option(name: .customLong("log-level"), help: "Log level.")
        var logLevel: String = "info"

        @Option(name: .customLong("tls-ca-file"), help: "PEM certificates to trust for https:// coordinators, besides the system's (a private CA or a self-signed server). (env: CODER_TLS_CA_FILE)")
        var caFile: String?

        public func run() async throws {
            let configuration = try daemonConfiguration()
            var logger = Logger(label: "provisionerd")
            logger.logLevel = level
            let provisioners = try await makeProvisioners(daemonName: configuration.name)
            for case let terraform as TerraformProvisioner in provisioners {
                logger.info("running Terraform", metadata: ["path": "\(terraform.configuration.executable)", "version": "\(terraform.configuration.version)", "work_dir": "\(terraform.configuration.workDirectory)"])
            }
            let daemon = ProvisionerDaemon(configuration: configuration, provisioners: provisioners, logger: logger)
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: DaemonService(daemon: daemon))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            try await group.run()
        }

        /// The daemon these flags describe, then the environment (`CODER_URL`,
        /// `CODER_PROVISIONER_DAEMON_PSK`, `CODER_SESSION_TOKEN`, `CODER_TLS_CA_FILE`); a bad value
        /// throws a `ValidationError` naming its flag.
        public func daemonConfiguration() throws -> DaemonConfiguration {
            let environment = ProcessInfo.processInfo.environment
            var urls = self.urls
            if urls.isEmpty, let url = environment["CODER_URL"] { urls = [url] }
            guard !urls.isEmpty else { throw ValidationError("give at least one --url") }
            for url in urls where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw ValidationError("--url must be an http or https URL, not \"\(url)\"")
            }
            let credential: DaemonConfiguration.Credential
            let key = try Environment.secret(psk, ["CODER_PROVISIONER_DAEMON_PSK"], file: pskFile, ["CODER_PROVISIONER_DAEMON_PSK_FILE"], option: "psk")
            switch (key, Environment.value(token, "CODER_SESSION_TOKEN")) {
            case (let key?, nil): credential = .preSharedKey(key)
            case (nil, let token?): credential = .sessionToken(token)
            case (.some, .some): throw ValidationError("give either --psk or --token, not both")
            case (nil, nil): throw ValidationError("give --psk or --token")
            }
            for provisioner in provisioners where !Self.knownProvisioners.contains(provisioner) {
                throw ValidationError("--provisioner: unknown provisioner \"\(provisioner)\"; this daemon runs \(Self.knownProvisioners.sorted().joined(separator: ", "))")
            }
            let parsedTags: [String: String]
            do {
                parsedTags = try ProvisionerTagList.parse(tags)
            } catch {
                throw ValidationError("--tag: \(error.description)")
            }
            return DaemonConfiguration(
                urls: urls, organization: organization, credential: credential,
                provisioners: provisioners.isEmpty ? ["echo"] : provisioners, tags: parsedTags,
                name: name ?? ProcessInfo.processInfo.hostName, version: CoordinatorVersion.current,
                tlsConfiguration: try tlsConfiguration(caFile: Environment.value(caFile, "CODER_TLS_CA_FILE"))
            )
        }

        static let knownProvisioners: Set<String> = ["echo", "terraform"]

        /// The provisioners the flags ask for. Terraform is found and asked its version here: a
        /// daemon asked for `terraform` that cannot run it refuses to start, naming the flag.
        public func makeProvisioners(daemonName: String) async throws -> [any Provisioner] {
            var made: [any Provisioner] = []
            for name in Set(provisioners.isEmpty ? ["echo"] : provisioners).sorted() {
                switch name {
                case "echo":
                    made.append(EchoProvisioner())
                case "terraform":
                    guard let grace = parseDuration(terraformCancelGrace), grace >= .zero else {
                        throw ValidationError("--terraform-cancel-grace: \"\(terraformCancelGrace)\" is not a duration such as 60s")
                    }
                    guard let timeout = parseDuration(terraformTimeout), timeout > .zero else {
                        throw ValidationError("--terraform-timeout: \"\(terraformTimeout)\" is not a duration such as 30m")
                    }
                    if let directory = terraformPluginDirectory {
                        var isDirectory: ObjCBool = false
                        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                            throw ValidationError("--terraform-plugin-dir: \(directory) is not a directory")
                        }
                    }
                    let path = ProcessInfo.processInfo.environment["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/bin:/usr/bin:/bin"
                    let found: (executable: String, version: String)
                    do {
                        found = try await TerraformVersion.check(terraformPath, path: path)
                    } catch {
                        throw ValidationError("--terraform-path: this daemon runs terraform, but \(error)")
                    }
                    // Several daemons on one host (the same user's cache) share no files: each
                    // works under its own name.
                    let root = (workDirectory ?? TerraformConfiguration.defaultWorkDirectory()) + "/" + Self.directoryName(daemonName)
                    made.append(TerraformProvisioner(configuration: TerraformConfiguration(
                        executable: found.executable, version: found.version, pluginDirectory: terraformPluginDirectory,
                        workDirectory: root, keepWorkDirectories: keepWorkDirectories, cancelGrace: grace, timeout: timeout, path: path
                    )))
                default:
                    throw ValidationError("--provisioner: unknown provisioner \"\(name)\"")
                }
            }
            return made
        }

        /// A daemon name as one path component: anything but letters, digits, `-`, `_` and `.`
        /// becomes `_` (names are free text, at most 64 characters).
        static func directoryName(_ name: String) -> String {
            let safe = String(name.unicodeScalars.map { scalar in
                CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "-_.".unicodeScalars.contains(scalar) ? Character(scalar) : "_"
            })
            return safe.isEmpty || safe.allSatisfy({ $0 == "." }) ? "daemon" : safe
        }

        /// `--log-level`; a name it does not know is `info`.
        public var level: Logger.Level { Logger.Level(rawValue: logLevel) ?? .info }

        private func tlsConfiguration(caFile: String?) throws -> TLSConfiguration? {
            guard let caFile else { return nil }
            var configuration = TLSConfiguration.makeClientConfiguration()
            do {
                configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            } catch {
                throw ValidationError("--tls-ca-file: cannot read PEM certificates from \(caFile): \(error)")
            }
            return configuration
        }
    }
}

/// SIGTERM or SIGINT (the group's graceful shutdown) applies the daemon's one shutdown rule,
/// `DaemonShutdown`, whatever it is doing: no job, `run` returns at once (connected or not); a
/// job, it is finished first. Either way the process exits with status 0.
private struct DaemonService: Service {
    let daemon: ProvisionerDaemon

    func run() async throws {
        await withGracefulShutdownHandler {
            await daemon.run()
        } onGracefulShutdown: {
            daemon.shutdown()
        }
    }
}

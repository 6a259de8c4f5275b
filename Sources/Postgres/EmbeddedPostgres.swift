import Foundation
import Logging

/// A PostgreSQL cluster that `coordinator server` runs for itself when given no database URL, as
/// Coder does: the system's binaries, a cluster in `<data-dir>/postgres`, listening only on a unix
/// socket in that folder (no TCP port). PostgreSQL refuses to run as root, so when we are root the
/// cluster belongs to and runs as an unprivileged user (Debian's `postgres`).
public struct EmbeddedPostgres: Sendable {
    public let clusterDirectory: String
    public let binDirectory: String
    /// The OS user that runs the server when we are root; nil when it runs as ourselves.
    public let runAs: String?
    let logger: Logger

    public static let databaseName = "coordinator"
    public static let userName = "coordinator"
    static let port = 5432

    public init(dataDirectory: String, logger: Logger = Logger(label: "postgres.embedded")) throws {
        self.clusterDirectory = (dataDirectory as NSString).appendingPathComponent("postgres")
        self.binDirectory = try Self.findBinDirectory()
        self.runAs = geteuid() == 0 ? "postgres" : nil
        self.logger = logger
        let socketPath = "\(clusterDirectory)/.s.PGSQL.\(Self.port)"
        if socketPath.utf8.count >= 108 {
            throw PostgresError(.connection, "data directory path is too long for a unix socket (\(socketPath)); choose a shorter --data-dir")
        }
    }

    /// The libpq connection string for the running cluster.
    public var connectionString: String {
        "host='\(clusterDirectory)' port=\(Self.port) user=\(Self.userName) dbname=\(Self.databaseName)"
    }

    /// Initializes the cluster on first use and starts it, unless it already runs (left by a
    /// previous process that was killed). Then makes sure our database exists.
    public func start() throws {
        try prepareDirectory()
        if !FileManager.default.fileExists(atPath: "\(clusterDirectory)/PG_VERSION") {
            logger.info("initializing embedded PostgreSQL cluster", metadata: ["path": "\(clusterDirectory)"])
            try run("initdb", [
                "-D", clusterDirectory, "-U", Self.userName, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                "--no-instructions",
            ])
        }
        if isRunning() {
            logger.info("embedded PostgreSQL already running; reusing it", metadata: ["path": "\(clusterDirectory)"])
        } else {
            let options = "-c listen_addresses='' -c unix_socket_directories='\(clusterDirectory)' -c unix_socket_permissions=0700 -c port=\(Self.port)"
            try run("pg_ctl", ["-D", clusterDirectory, "-l", "\(clusterDirectory)/postgres.log", "-w", "-t", "60", "-o", options, "start"])
            logger.info("embedded PostgreSQL started", metadata: ["socket": "\(clusterDirectory)"])
        }
        try createDatabase()
    }

    /// Stops the cluster (fast mode: rolls back open transactions, then shuts down cleanly).
    public func stop() throws {
        guard isRunning() else { return }
        try run("pg_ctl", ["-D", clusterDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
        logger.info("embedded PostgreSQL stopped")
    }

    public func isRunning() -> Bool {
        guard FileManager.default.fileExists(atPath: "\(clusterDirectory)/postmaster.pid") else { return false }
        return (try? run("pg_ctl", ["-D", clusterDirectory, "status"], quiet: true)) != nil
    }

    private func createDatabase() throws {
        let admin = try PostgresConnection(connectionString: "host='\(clusterDirectory)' port=\(Self.port) user=\(Self.userName) dbname=postgres")
        defer { admin.close() }
        let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [.text(Self.databaseName)])
        if exists.rows.isEmpty {
            try admin.execute("CREATE DATABASE \(Listener.quoted(Self.databaseName))")
        }
    }

    private func prepareDirectory() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: clusterDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard let runAs else { return }
        guard let user = getpwnam(runAs) else {
            throw PostgresError(.connection, "running as root, but there is no '\(runAs)' user to run the embedded PostgreSQL as (install the postgresql package, or pass --postgres-url)")
        }
        let uid = user.pointee.pw_uid, gid = user.pointee.pw_gid
        if chown(clusterDirectory, uid, gid) != 0 {
            throw PostgresError(.connection, "cannot hand \(clusterDirectory) to the '\(runAs)' user: \(String(cString: strerror(errno)))")
        }
        chmod(clusterDirectory, 0o700)
        // The server must be able to reach its directory: give "search" (x) on each parent that lacks it.
        var parent = (clusterDirectory as NSString).deletingLastPathComponent
        while parent != "/" && !parent.isEmpty {
            var info = stat()
            if stat(parent, &info) == 0, info.st_mode & S_IXOTH == 0 {
                logger.notice("allowing the '\(runAs)' user to traverse \(parent) (o+x) for the embedded PostgreSQL")
                chmod(parent, info.st_mode & 0o7777 | S_IXOTH)
            }
            parent = (parent as NSString).deletingLastPathComponent
        }
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String], quiet: Bool = false) throws -> String {
        let executable = "\(binDirectory)/\(tool)"
        let command = runAs.map { ("/usr/sbin/runuser", ["-u", $0, "--", executable] + arguments) } ?? (executable, arguments)
        let (status, text) = (try? ChildProcess.run(command.0, command.1, workingDirectory: clusterDirectory)) ?? (127, "cannot run \(executable)")
        guard status == 0 else {
            if !quiet { logger.error("\(tool) failed", metadata: ["output": "\(text)"]) }
            throw PostgresError(.connection, "\(tool) failed (exit \(status)): \(text.split(separator: "\n").last.map(String.init) ?? "")")
        }
        return text
    }

    /// `pg_config --bindir` if it has `initdb`, else the newest Debian `/usr/lib/postgresql/N/bin`.
    static func findBinDirectory() throws -> String {
        let fm = FileManager.default
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["COORDINATOR_PG_BINDIR"] { candidates.append(env) }
        if let pgConfig = ["/usr/bin/pg_config", "/usr/local/bin/pg_config"].first(where: fm.isExecutableFile(atPath:)),
           let (status, output) = try? ChildProcess.run(pgConfig, ["--bindir"]), status == 0 {
            candidates.append(output)
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        if let found = candidates.first(where: { fm.isExecutableFile(atPath: "\($0)/initdb") && fm.isExecutableFile(atPath: "\($0)/pg_ctl") }) {
            return found
        }
        throw PostgresError(.connection, "no PostgreSQL server binaries found (looked in: \(candidates.joined(separator: ", "))); install the postgresql package or pass --postgres-url")
    }
}

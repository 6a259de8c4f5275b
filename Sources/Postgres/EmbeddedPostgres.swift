import Foundation
import Logging

/// A PostgreSQL cluster that `coordinator server` runs for itself when given no database URL, as
/// Coder does: the system's binaries, a cluster in `<data-dir>/postgres`, listening only on a unix
/// socket in that folder (no TCP port). PostgreSQL refuses to run as root, so when we are root the
/// cluster belongs to and runs as an unprivileged user (Debian's `postgres`).
///
/// Logins on that socket need a password (scram-sha-256), never `trust`: the socket is only ours
/// (mode 0700), but a password keeps the cluster closed even if the folder's permissions are
/// loosened. The password is generated once and kept in `<data-dir>/postgres-password` (0600).
/// The tools run with a scrubbed environment (`ChildProcess.scrubbedEnvironment`).
public struct EmbeddedPostgres: Sendable {
    public let clusterDirectory: String
    let passwordPath: String
    public let binDirectory: String
    /// The OS user that runs the server when we are root; nil when it runs as ourselves.
    public let runAs: String?
    let logger: Logger

    public static let databaseName = "coordinator"
    public static let userName = "coordinator"
    static let port = 5432

    public init(dataDirectory: String, logger: Logger = Logger(label: "postgres.embedded")) throws {
        self.clusterDirectory = (dataDirectory as NSString).appendingPathComponent("postgres")
        self.passwordPath = (dataDirectory as NSString).appendingPathComponent("postgres-password")
        self.binDirectory = try Self.findBinDirectory()
        self.runAs = geteuid() == 0 ? "postgres" : nil
        self.logger = logger
        let socketPath = "\(clusterDirectory)/.s.PGSQL.\(Self.port)"
        if socketPath.utf8.count >= 108 {
            throw PostgresError(.connection, "data directory path is too long for a unix socket (\(socketPath)); choose a shorter --data-dir")
        }
    }

    /// The libpq connection string for the running cluster, password included.
    public var connectionString: String {
        connectionString(database: Self.databaseName)
    }

    func connectionString(database: String, password: String? = nil) -> String {
        let password = password ?? ((try? readPassword()) ?? "")
        return "host='\(clusterDirectory)' port=\(Self.port) user=\(Self.userName) dbname=\(database) password='\(password)'"
    }

    /// Initializes the cluster on first use and starts it, unless it already runs (left by a
    /// previous process that was killed). Then makes sure our database exists.
    public func start() throws {
        try prepareDirectory()
        let password = try passwordCreatingIfNeeded()
        if !FileManager.default.fileExists(atPath: "\(clusterDirectory)/PG_VERSION") {
            logger.info("initializing embedded PostgreSQL cluster", metadata: ["path": "\(clusterDirectory)"])
            try withPasswordFile(password) { passwordFile in
                try run("initdb", [
                    "-D", clusterDirectory, "-U", Self.userName, "--auth=scram-sha-256", "--pwfile=\(passwordFile)",
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions",
                ])
            }
        }
        if isRunning() {
            logger.info("embedded PostgreSQL already running; reusing it", metadata: ["path": "\(clusterDirectory)"])
        } else {
            let options = "-c listen_addresses='' -c unix_socket_directories='\(clusterDirectory)' -c unix_socket_permissions=0700 -c port=\(Self.port)"
            try run("pg_ctl", ["-D", clusterDirectory, "-l", "\(clusterDirectory)/postgres.log", "-w", "-t", "60", "-o", options, "start"])
            logger.info("embedded PostgreSQL started", metadata: ["socket": "\(clusterDirectory)"])
        }
        try requirePasswordAuthentication(password)
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
        let admin = try PostgresConnection(connectionString: connectionString(database: "postgres"))
        defer { admin.close() }
        let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [.text(Self.databaseName)])
        if exists.rows.isEmpty {
            try admin.execute("CREATE DATABASE \(Listener.quoted(Self.databaseName))")
        }
    }

    // MARK: the password

    private func readPassword() throws -> String {
        guard let data = FileManager.default.contents(atPath: passwordPath) else {
            throw PostgresError(.connection, "cannot read the embedded PostgreSQL's password file \(passwordPath)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates `path` with mode 0600 from the start (never readable by others, not even for a
    /// moment between writing and a chmod), failing if it exists.
    static func writePrivately(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    private func passwordCreatingIfNeeded() throws -> String {
        if FileManager.default.fileExists(atPath: passwordPath) { return try readPassword() }
        var generator = SystemRandomNumberGenerator()
        let password = (0..<32).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
        guard Self.writePrivately(password, to: passwordPath) else {
            throw PostgresError(.connection, "cannot write the embedded PostgreSQL's password file \(passwordPath)")
        }
        return password
    }

    /// initdb reads the superuser's password from a file: a copy the server's user can read, for
    /// as long as initdb runs.
    private func withPasswordFile(_ password: String, _ body: (String) throws -> Void) throws {
        let path = ((clusterDirectory as NSString).deletingLastPathComponent as NSString).appendingPathComponent(".initdb-password")
        unlink(path) // a leftover of an interrupted start
        guard Self.writePrivately(password, to: path) else {
            throw PostgresError(.connection, "cannot write \(path)")
        }
        defer { unlink(path) }
        if let runAs, let user = getpwnam(runAs) { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
        try body(path)
    }

    /// A cluster made by an older version trusted every local login: give the role its password,
    /// then make the socket require it.
    private func requirePasswordAuthentication(_ password: String) throws {
        let hbaPath = "\(clusterDirectory)/pg_hba.conf"
        guard let hba = try? String(contentsOfFile: hbaPath, encoding: .utf8) else { return }
        let rules = hba.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        guard rules.contains(where: { $0.split(whereSeparator: \.isWhitespace).contains("trust") }) else { return }
        logger.notice("embedded PostgreSQL trusted local logins; switching it to password authentication")
        let admin = try PostgresConnection(connectionString: "host='\(clusterDirectory)' port=\(Self.port) user=\(Self.userName) dbname=postgres")
        defer { admin.close() }
        _ = try admin.query("SELECT set_config('password_encryption', 'scram-sha-256', false)", [])
        try admin.execute("ALTER ROLE \(Listener.quoted(Self.userName)) PASSWORD '\(password)'")
        // Written in place, so the file keeps its owner (the server's user when we are root).
        try "# Written by coordinator: every login needs the password.\nlocal all all scram-sha-256\n"
            .write(toFile: hbaPath, atomically: false, encoding: .utf8)
        _ = try admin.query("SELECT pg_reload_conf()", [])
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
        let (status, text) = (try? ChildProcess.run(command.0, command.1, environment: ChildProcess.scrubbedEnvironment(), workingDirectory: clusterDirectory))
            ?? (127, "cannot run \(executable)")
        guard status == 0 else {
            if !quiet { logger.error("\(tool) failed", metadata: ["output": "\(text)"]) }
            throw PostgresError(.connection, "\(tool) failed (exit \(status)): \(text.split(separator: "\n").last.map(String.init) ?? "")")
        }
        return text
    }

    /// `pg_config --bindir` if it has `initdb`, else the newest Debian `/usr/lib/postgresql/N/bin`.
    public static func findBinDirectory() throws -> String {
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

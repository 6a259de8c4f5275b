import Foundation
import Postgres

/// A PostgreSQL cluster of one test's own, on a loopback TCP port, that the test may stop and
/// start again (the cluster scripts/test started is shared and must stay up). With a password,
/// TCP logins need it (scram-sha-256). Removed when the value goes away.
///
/// The tools (`pg_config`, `initdb`, `pg_basebackup`, `pg_ctl`) run to their end on a thread of
/// their own, never on one of Swift's cooperative threads: `pg_ctl start -w` waits up to a minute,
/// and a cooperative thread blocked for that long (there are as many as cores, two on CI) holds
/// back every other test of the process, in-process servers' request handlers among them.
public final class ThrowawayPostgres: Sendable {
    public let port: Int
    public let directory: String
    private let bin: String
    /// Set when we are root: PostgreSQL refuses to run as root, so the cluster runs as `postgres`.
    private let runAs: String?

    public init(port: Int? = nil, password: String? = nil) async throws {
        self.port = try port ?? freePort()
        bin = try await offThePool { try EmbeddedPostgres.findBinDirectory() }
        runAs = geteuid() == 0 ? "postgres" : nil
        directory = NSTemporaryDirectory() + "coord-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var arguments = ["-D", "\(directory)/data", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions", "--auth-local=trust"]
        if let password {
            try password.write(toFile: "\(directory)/pwfile", atomically: true, encoding: .utf8)
            arguments += ["--auth-host=scram-sha-256", "--pwfile=\(directory)/pwfile"]
        } else {
            arguments += ["--auth-host=trust"]
        }
        if let runAs, let user = getpwnam(runAs) {
            for path in [directory, "\(directory)/pwfile"] { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
        }
        try await run("initdb", arguments)
    }

    /// A streaming standby of `primary` (which must be running), made with `pg_basebackup -R`
    /// (standby.signal and primary_conninfo), on a port of its own; `start()` it, `promote()` it.
    public init(standbyOf primary: ThrowawayPostgres, port: Int? = nil) async throws {
        self.port = try port ?? freePort()
        bin = primary.bin
        runAs = primary.runAs
        directory = NSTemporaryDirectory() + "coord-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let runAs, let user = getpwnam(runAs) { chown(directory, user.pointee.pw_uid, user.pointee.pw_gid) }
        try await run("pg_basebackup", [
            "-h", "127.0.0.1", "-p", "\(primary.port)", "-U", "postgres", "-D", "\(directory)/data", "-R", "-X", "stream", "-c", "fast",
        ])
    }

    /// A deinit cannot wait off the pool, so it does not wait: a cluster still running (a test
    /// that failed before stopping it) gets SIGQUIT, the immediate shutdown `pg_ctl stop -m
    /// immediate` sends, and a thread of its own removes the directory once the postmaster has
    /// exited (removed before, the exiting postmaster's last writes left it behind). A test that
    /// needs the cluster down before it goes on calls `stop()`.
    deinit {
        let directory = directory
        let postmaster = Self.quit(directory: directory)
        Thread {
            if let postmaster {
                // At most ten seconds: an immediate shutdown takes milliseconds.
                for _ in 0..<1000 where kill(postmaster, 0) == 0 { usleep(10_000) }
            }
            try? FileManager.default.removeItem(atPath: directory)
        }.start()
    }

    /// `postgresql://postgres[:password]@127.0.0.1:<port>/postgres`
    public func url(password: String? = nil) -> String {
        "postgresql://postgres\(password.map { ":\($0)" } ?? "")@127.0.0.1:\(port)/postgres"
    }

    public func start() async throws {
        try await run("pg_ctl", [
            "-D", "\(directory)/data", "-l", "\(directory)/postgres.log", "-w", "-t", "60",
            "-o", "-c listen_addresses=127.0.0.1 -c port=\(port) -c unix_socket_directories=\(directory) -c fsync=off", "start",
        ])
    }

    /// Ends recovery: a standby becomes a primary that takes writes (waits until it does).
    public func promote() async throws {
        try await run("pg_ctl", ["-D", "\(directory)/data", "-w", "-t", "60", "promote"])
    }

    /// Stops at once, as a crash or a failover would (open connections are cut).
    public func stop() async throws {
        guard FileManager.default.fileExists(atPath: "\(directory)/data/postmaster.pid") else { return }
        try await run("pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "-t", "60", "stop"])
    }

    /// Runs `tool` of the server's binaries to its end, off the cooperative pool.
    private func run(_ tool: String, _ arguments: [String]) async throws {
        let executable = "\(bin)/\(tool)"
        let (program, all) = runAs.map { ("/usr/sbin/runuser", ["-u", $0, "--", executable] + arguments) } ?? (executable, arguments)
        let directory = directory
        let (status, output) = try await offThePool { () throws -> (status: Int32, output: String) in
            try ChildProcess.run(program, all, workingDirectory: directory)
        }
        guard status == 0 else { throw TestSetupError("\(tool) failed (\(status)): \(output)") }
    }

    /// SIGQUIT to the cluster's postmaster, if it runs; does not wait. Returns its pid.
    @discardableResult
    private static func quit(directory: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: "\(directory)/data/postmaster.pid", encoding: .utf8),
              let line = text.split(separator: "\n").first, let pid = pid_t(line.trimmingCharacters(in: .whitespaces)), pid > 0
        else { return nil }
        kill(pid, SIGQUIT)
        return pid
    }
}

/// Runs a blocking call (a child process waited for) on a thread of its own and resumes with its
/// result, so that the wait parks that thread and never one of the cooperative pool's.
private func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

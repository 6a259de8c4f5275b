import CLibPQ
import Foundation
import Synchronization

/// A child process started with `posix_spawn` and reaped with `waitpid`. Foundation's `Process`
/// can hang in `waitUntilExit` on Linux after the child has exited (seen with `pg_ctl start`),
/// so the embedded cluster and the test harness use this instead.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments`. Standard output and error go to `outputPath`
    /// (appended), or to /dev/null; standard input is /dev/null.
    public init(executable: String, arguments: [String], environment: [String: String]? = nil, outputPath: String? = nil, workingDirectory: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let output = outputPath ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process: NIO opens sockets without close-on-exec, and a child that
        // held a server's connection or listening socket would keep it open after the server
        // closed it (a postmaster outlives the pg_ctl that started it).
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        // posix_spawn_file_actions_addchdir_np is not visible through Glibc: `env -C` changes directory.
        let (program, programArguments) = workingDirectory.map { ("/usr/bin/env", ["-C", $0, executable] + arguments) }
            ?? (executable, arguments)

        let argv = ([program] + programArguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, nil, argv, env)
        guard result == 0 else {
            throw PostgresError(.connection, "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// The exit status (or 128 + signal) once the child has ended; nil while it runs.
    public var exitStatus: Int32? {
        if let known = status.withLock({ $0 }) { return known }
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        guard reaped == pid else { return nil }
        let code = Self.decode(raw)
        status.withLock { $0 = code }
        return code
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Blocks the calling thread until the child exits.
    public func waitUntilExit() -> Int32 {
        if let known = status.withLock({ $0 }) { return known }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = Self.decode(raw)
        status.withLock { $0 = code }
        return code
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7F
        return signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
    }

    /// Runs to completion and returns the exit status and everything it printed.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, workingDirectory: String? = nil) throws -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "child-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        let child = try ChildProcess(executable: executable, arguments: arguments, environment: environment, outputPath: outputPath, workingDirectory: workingDirectory)
        let status = child.waitUntilExit()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (status, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Our environment with only what a tool needs to run kept: the search path, locale, time
    /// zone and temporary folder. Nothing else is inherited: not the provisioner PSK, not a
    /// database URL or `PGPASSWORD`, not a session token (a server's environment is full of them).
    public static func scrubbedEnvironment() -> [String: String] {
        let kept: Set<String> = ["PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR"]
        return ProcessInfo.processInfo.environment.filter { kept.contains($0.key) || $0.key.hasPrefix("LC_") }
    }
}

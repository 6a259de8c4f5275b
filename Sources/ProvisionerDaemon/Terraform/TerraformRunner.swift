import Foundation
import Subprocess
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Runs one Terraform command the way a job needs it: in its own process group, with exactly the
/// environment given and no descriptor but 0, 1 and 2 (Subprocess closes the rest, so no socket
/// or pipe of the daemon reaches a template's `local-exec`), standard output read line by line as
/// it comes.
///
/// Ending it early (the job was canceled, its time ran out; `interrupt` fires, or the calling
/// task is cancelled) sends SIGINT to the group — Terraform stops gracefully and writes its state
/// — waits `grace`, then SIGKILLs the group. Whatever is left in the group once Terraform has
/// exited (a `local-exec` child that ignored SIGINT) is killed then: nothing a job started
/// outlives it unless it left the group itself (`setsid`), as a long-lived workspace process
/// must. Terraform is started under `setpriv --pdeathsig KILL` where `setpriv` exists, so that it
/// dies with the daemon even when the daemon is SIGKILLed: no orphaned apply runs beside the
/// build that is resumed or failed.
struct TerraformRunner: Sendable {
    /// Absolute path of the Terraform binary.
    var executable: String
    var grace: Duration
    /// util-linux's `setpriv`, when present: sets the parent-death signal and execs Terraform
    /// (same pid, same group).
    var setpriv: String? = TerraformRunner.findSetpriv()

    struct Outcome: Sendable {
        var status: TerminationStatus
        /// Set when the command was ended early (`interrupt`, also fired by the caller's cancellation).
        var interrupted: Bool
        var succeeded: Bool { !interrupted && status.isSuccess }
    }

    /// Runs `terraform arguments` in `directory`. `onLine` gets each standard-output line (and
    /// each standard-error line, with `fromStandardError`), awaited before the next line of that
    /// stream is read. The command is read to its end even after an interrupt, so that the
    /// caller sees what Terraform said while it stopped.
    func run(
        _ arguments: [String],
        in directory: String,
        environment: [String: String],
        interrupt: TerraformInterrupt,
        onLine: @escaping @Sendable (_ line: String, _ fromStandardError: Bool) async -> Void
    ) async throws -> Outcome {
        let teardown: [TeardownStep] = [.send(signal: .interrupt, toProcessGroup: true, allowedDurationToNextStep: grace)]
        var options = PlatformOptions()
        // A new group led by Terraform (pgid == pid): the signals reach its `local-exec` children.
        options.processGroupID = 0
        options.teardownSequence = teardown
        let (path, argv): (String, [String]) = if let setpriv {
            (setpriv, ["--pdeathsig", "KILL", "--", executable] + arguments)
        } else {
            (executable, arguments)
        }
        var variables: [Environment.Key: String] = [:]
        for (key, value) in environment {
            guard let key = Environment.Key(rawValue: key) else { continue }
            variables[key] = value
        }
        let environment = Environment.custom(variables)
        // Subprocess runs in a task of its own that is never cancelled: the caller's cancellation
        // fires `interrupt` instead, so that one path sends the one SIGINT (Terraform takes a
        // second as "exit immediately", without saving state), and Terraform is read to its end
        // while it stops (a cancelled read would close the pipe, and Terraform would die of
        // SIGPIPE mid-shutdown).
        let running = Task<TerraformRunner.Outcome, any Error> {
            let result = try await Subprocess.run(
                .path(FilePath(path)),
                arguments: Arguments(argv),
                environment: environment,
                workingDirectory: FilePath(directory),
                platformOptions: options,
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await interrupt.wait()
                        if interrupt.fired { await execution.teardown(using: teardown) }
                    }
                    group.addTask {
                        for try await line in execution.standardError.strings(bufferingPolicy: .maxLineLength(1 << 20)) {
                            await onLine(line, true)
                        }
                    }
                    // Terraform's -json lines: an `outputs` message can be large.
                    for try await line in execution.standardOutput.strings(bufferingPolicy: .maxLineLength(16 << 20)) {
                        await onLine(line, false)
                    }
                    // Standard output ends when Terraform has exited: the interrupt waiter goes.
                    group.cancelAll()
                    try await group.waitForAll()
                }
            }
            // The teardown stops once Terraform itself has exited; whatever is left in its group
            // is killed now (ESRCH, nothing left, is the usual case).
            _ = kill(-result.processIdentifier.value, SIGKILL)
            return Outcome(status: result.terminationStatus, interrupted: interrupt.fired)
        }
        return try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            interrupt.fire()
        }
    }

    static func findSetpriv() -> String? {
        ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

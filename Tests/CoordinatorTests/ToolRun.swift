import Foundation
import TestSupport

/// Runs a command-line tool a test needs (promtool, openssl, curl) to its end, off the
/// cooperative pool; stdin from `input`, stdout and stderr together in `output`.
struct ToolRun: Sendable {
    let status: Int32
    let output: String

    static func run(_ tool: String, _ arguments: [String], input: String? = nil) async throws -> ToolRun {
        guard let path = ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)", "/bin/\(tool)"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestSetupError("\(tool) is not installed (scripts/test installs it)")
        }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: path)
                    process.arguments = arguments
                    let output = Pipe(), stdin = Pipe()
                    process.standardOutput = output
                    process.standardError = output
                    process.standardInput = stdin
                    try process.run()
                    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
                    try stdin.fileHandleForWriting.close()
                    let data = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: ToolRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

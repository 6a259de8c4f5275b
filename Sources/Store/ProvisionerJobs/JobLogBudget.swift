import Foundation
import WireFormat

/// The cap on what one job may log: a daemon cannot fill the database through one job.
public struct JobLogLimits: Sendable, Equatable {
    public var maxLines: Int
    public var maxBytes: Int

    public init(maxLines: Int = 50_000, maxBytes: Int = 16 << 20) {
        self.maxLines = maxLines
        self.maxBytes = maxBytes
    }
}

/// What a job has logged so far against its limits, and which of the next lines still fit.
/// Pure: the Store loads the counters, asks, and writes back the result in one transaction.
public struct JobLogBudget: Sendable, Equatable {
    public let limits: JobLogLimits
    public private(set) var lines: Int
    public private(set) var bytes: Int
    /// The notice line was written: everything after it is dropped silently.
    public private(set) var truncated: Bool

    public static let noticeStage = "Cleaning Up"
    public static let levels: Set<String> = ["trace", "debug", "info", "warn", "error"]

    public init(limits: JobLogLimits, lines: Int, bytes: Int, truncated: Bool) {
        self.limits = limits
        self.lines = lines
        self.bytes = bytes
        self.truncated = truncated
    }

    /// The lines that fit, in order, and a notice the first time one does not.
    public mutating func admit(_ incoming: [JobLogLine]) -> (kept: [JobLogLine], notice: JobLogLine?) {
        guard !truncated else { return ([], nil) }
        var kept: [JobLogLine] = []
        for line in incoming {
            var line = line
            line.output = Self.sanitized(line.output)
            line.stage = Self.sanitized(line.stage)
            // Coder's levels only: any other value (a megabyte of it, say) would slip past the cap.
            if !Self.levels.contains(line.level) { line.level = "info" }
            let size = line.output.utf8.count + line.stage.utf8.count
            if lines >= limits.maxLines || size > limits.maxBytes - bytes {
                truncated = true
                let notice = JobLogLine(
                    createdAt: line.createdAt, source: "provisioner_daemon", level: "warn", stage: Self.noticeStage,
                    output: "This job reached its log limit (\(limits.maxLines) lines or \(limits.maxBytes) bytes); further output is dropped."
                )
                return (kept, notice)
            }
            lines += 1
            bytes += size
            kept.append(line)
        }
        return (kept, nil)
    }

    /// PostgreSQL text cannot hold NUL; a daemon's output may.
    static func sanitized(_ text: String) -> String {
        NULCharacter.replaced(in: text)
    }
}

import Foundation
import Logging
import Synchronization

/// What a replica or a daemon run in this process logs, kept in memory for a failing test to show
/// (a process's goes to its log file): one line per event, the oldest dropped past `limit` bytes.
/// Nothing asserts on it: a test that reads what a server says runs that server as a process.
final class CapturedLog: Sendable {
    private struct Lines {
        var lines: [String] = []
        var start = 0
        var bytes = 0
    }

    private let state = Mutex(Lines())
    private let limit: Int

    init(limit: Int = 256 * 1024) {
        self.limit = limit
    }

    /// Every line kept, oldest first.
    var text: String {
        state.withLock { $0.lines[$0.start...].joined() }
    }

    func append(_ line: String) {
        state.withLock { state in
            state.lines.append(line)
            state.bytes += line.utf8.count
            while state.bytes > limit, state.start < state.lines.count - 1 {
                state.bytes -= state.lines[state.start].utf8.count
                state.start += 1
            }
            // Drop what was skipped now and then, not on every line.
            if state.start > 1024 {
                let skipped = state.start
                state.lines.removeFirst(skipped)
                state.start = 0
            }
        }
    }

    /// A logger at `level` whose lines (and those of loggers made from it) are kept here.
    func logger(label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label, factory: { label in Handler(label: label, sink: self) })
        logger.logLevel = level
        return logger
    }

    private struct Handler: LogHandler {
        let label: String
        let sink: CapturedLog
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
            let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            sink.append("\(Date()) \(event.level) \(label): \(event.message)\(fields)\n")
        }
    }
}

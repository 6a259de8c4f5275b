import Foundation
import ProvisionerProtocol

/// Turns Terraform's output, one line at a time, into the job's log lines: the level from
/// `@level`, the text from `@message` (a diagnostic in full: summary, detail, place), the stage
/// the daemon is in (init / plan / apply / destroy). Pure: the runner reads the lines and sends
/// what this returns.
///
/// Every known sensitive value is replaced by `*redacted*` in what is logged. Terraform already
/// hides sensitive values in its UI and suppresses a provisioner's output when its configuration
/// refers to one, but a template can still print a secret (a `local-exec` that echoes a file, a
/// variable that is not marked sensitive but holds the same value); this is the second fence.
public enum TerraformUI {
    /// Which of Terraform's streams a line came from. With `-json`, stdout carries the UI (errors
    /// included); stderr carries only what escapes it: a crash, a CLI configuration complaint.
    public enum Stream: Sendable, Equatable {
        case stdout
        case stderr
    }

    public static let redaction = "*redacted*"

    /// Values shorter than this are not redacted. Replacing a one- to three-character value (`1`,
    /// `yes`, `dev`) would garble most lines of every log (timestamps, counts, words) while hiding
    /// nothing a reader could not guess; such a value is still never returned by the API nor
    /// written to the state's readers. Empty values are never searched for (every position
    /// matches the empty string).
    public static let minimumRedactedLength = 4

    /// The longest output one log line keeps, in bytes (a `local-exec` may print a megabyte on one
    /// line). The coordinator's own caps still apply on top; this keeps one line from using the
    /// whole of an update message.
    public static let maxOutputBytes = 64 << 10

    /// The log line for one line of output, or nil for a line that carries nothing (blank, or a
    /// JSON message with no text).
    ///
    /// - A JSON UI message: level from `@level` (`info`/`warn`/`error`; anything else is `info`),
    ///   output `@message`, or for a diagnostic its summary, detail and place.
    /// - Anything else (a crash trace, a complaint on stderr) is logged as it is: `info` from
    ///   stdout, `error` from stderr.
    public static func logLine(
        _ line: String, stage: String, redacting secrets: [String],
        from stream: Stream = .stdout, at time: Date = Date()
    ) -> LogLine? {
        let level: String
        var output: String
        if let message = TerraformUIMessage.parse(line) {
            level = logLevel(message.level, diagnostic: message.diagnostic)
            if let diagnostic = message.diagnostic, message.type == "diagnostic" {
                output = diagnostic.summary.isEmpty && diagnostic.detail.isEmpty ? message.message : diagnostic.text
            } else {
                output = message.message
            }
            // Terraform wraps some messages in newlines ("\nInterrupt received.\n…").
            output = output.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            level = stream == .stderr ? "error" : "info"
            output = trimmingTrailingWhitespace(line)
        }
        guard !output.isEmpty else { return nil }
        // Redacted before it is cut: a cut could otherwise leave the start of a secret unmatched.
        output = truncated(redact(output, secrets: secrets))
        return LogLine(level: level, stage: stage, output: output, createdAt: time)
    }

    /// Terraform's own words for why a command failed: each error diagnostic (summary, detail,
    /// place) in the order they came, redacted; nil when there were none (the command failed
    /// without saying why, and the caller says so with the exit status).
    public static func failureMessage(from diagnostics: [TerraformUIMessage.Diagnostic], redacting secrets: [String]) -> String? {
        let errors = diagnostics.filter { $0.severity == "error" }
        guard !errors.isEmpty else { return nil }
        // Only summary, detail and file/line: the source snippet belongs in the log, not in the
        // one-paragraph reason a build failed.
        let text = errors.map { diagnostic in
            var brief = diagnostic
            brief.code = nil
            brief.values = []
            return brief.text
        }.joined(separator: "\n\n")
        return truncated(redact(text, secrets: secrets))
    }

    /// `text` with every sensitive value (at least `minimumRedactedLength` characters) replaced by
    /// `*redacted*`. A value of several lines is also redacted line by line, since a provisioner's
    /// output reaches the log one line at a time. Longer values go first, so that a value
    /// containing another is hidden whole.
    public static func redact(_ text: String, secrets: [String]) -> String {
        guard !secrets.isEmpty else { return text }
        var candidates: Set<String> = []
        for secret in secrets {
            candidates.insert(secret)
            for part in secret.split(whereSeparator: \.isNewline) {
                candidates.insert(String(part))
            }
        }
        let ordered = candidates
            .filter { $0.count >= minimumRedactedLength }
            .sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
        var out = text
        for secret in ordered {
            out = out.replacingOccurrences(of: secret, with: redaction)
        }
        return out
    }

    static func logLevel(_ raw: String, diagnostic: TerraformUIMessage.Diagnostic?) -> String {
        switch raw {
        case "info", "warn", "error": return raw
        case "warning": return "warn"
        case "":
            // No @level: a diagnostic still says how bad it is.
            switch diagnostic?.severity {
            case "error"?: return "error"
            case "warning"?: return "warn"
            default: return "info"
            }
        default: return "info"
        }
    }

    static func trimmingTrailingWhitespace(_ text: String) -> String {
        var end = text.endIndex
        while end > text.startIndex {
            let before = text.index(before: end)
            guard text[before].isWhitespace else { break }
            end = before
        }
        return String(text[..<end])
    }

    /// At most `maxOutputBytes` bytes, cut between characters' scalars, never inside one.
    static func truncated(_ text: String) -> String {
        guard text.utf8.count > maxOutputBytes else { return text }
        var kept = 0
        var end = text.unicodeScalars.startIndex
        for index in text.unicodeScalars.indices {
            let width = UTF8.width(text.unicodeScalars[index])
            guard kept + width <= maxOutputBytes else { break }
            kept += width
            end = text.unicodeScalars.index(after: index)
        }
        let dropped = text.utf8.count - kept
        return String(text.unicodeScalars[..<end]) + " … (\(dropped) more bytes not shown)"
    }
}

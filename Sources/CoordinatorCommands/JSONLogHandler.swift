import Foundation
import Logging
import WireFormat

/// `--log-format json`: one JSON object per line on standard error, for log shippers: `time`
/// (RFC 3339, microseconds), `level`, `message`, `logger` (the label), `replica_id`,
/// `request_id` when the line belongs to a request (Hummingbird's `hb.request.id`), and every
/// other metadata value as a string. A line is handed to the file in one piece, so lines of
/// concurrent tasks do not interleave on a pipe as long as each is shorter than its atomic
/// write size (4 KiB on Linux).
struct JSONLogHandler: LogHandler {
    let label: String
    let replicaID: UUID?
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        FileHandle.standardError.write(Data(Self.line(event, label: label, replicaID: replicaID, metadata: merged(event.metadata)).utf8))
    }

    private func merged(_ explicit: Logger.Metadata?) -> Logger.Metadata {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit { all.merge(explicit) { _, new in new } }
        return all
    }

    /// The line for one event, newline included.
    static func line(_ event: LogEvent, label: String, replicaID: UUID?, metadata: Logger.Metadata, now: Date = Date()) -> String {
        var object: [String: JSONValue] = [
            "time": .string(RFC3339.string(from: now)),
            "level": .string(event.level.rawValue),
            "message": .string(event.message.description),
            "logger": .string(label),
        ]
        if let replicaID { object["replica_id"] = .string(replicaID.uuidString.lowercased()) }
        for (key, value) in metadata {
            let name = key == "hb.request.id" ? "request_id" : key
            if object[name] == nil { object[name] = .string(value.description) }
        }
        let text = (try? WireJSON.encodeString(JSONValue.object(object))) ?? #"{"level":"error","message":"unencodable log line"}"#
        return text + "\n"
    }
}

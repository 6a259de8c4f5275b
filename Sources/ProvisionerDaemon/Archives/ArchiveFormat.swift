/// What kind of archive an upload is, from its first bytes (the stored mimetype does not reach
/// the daemon, and a client may lie about it anyway).
public enum ArchiveFormat: Sendable, Equatable {
    case tar
    case zip
    case gzip

    /// `PK\x03\x04` starts a zip's first local file header; `PK\x05\x06` is an empty zip (only
    /// its end-of-directory record). `\x1F\x8B` is gzip (a `.tar.gz`). Anything else is read as
    /// tar, whose reader checks every header's checksum, so other bytes are refused there.
    public static func detect(_ bytes: [UInt8]) -> ArchiveFormat {
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .zip }
        if bytes.starts(with: [0x1F, 0x8B]) { return .gzip }
        return .tar
    }
}

/// Why a template archive was not extracted, naming the entry at fault: the job fails with it.
public struct TemplateArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

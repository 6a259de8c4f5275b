/// The sizes both ends of the protocol agree on, in one place: an upload the coordinator accepts
/// must fit in a message a daemon can receive, or the job could never be delivered (the daemon
/// would close with 1009, reconnect and be handed the same job again, forever).
public enum ProvisionerLimits {
    /// Largest template archive `POST /files` accepts (Coder's limit).
    public static let maxArchiveBytes = 10 << 20
    /// Largest provisioner state a build may report (`complete`/`fail`), before base64.
    public static let maxStateBytes = 10 << 20
    /// Room for everything in a message besides the archive and the state: the envelope, logs of
    /// one update, resources.
    public static let messageOverheadBytes = 1 << 20
    /// Largest WebSocket message either end accepts: a `job` carrying the largest archive and the
    /// largest state, both base64, plus the overhead.
    public static let maxMessageBytes = base64Length(maxArchiveBytes) + base64Length(maxStateBytes) + messageOverheadBytes

    /// How many times a job may be handed to a daemon without a single update before it fails
    /// instead of going back to the queue (a job no daemon can take must not block the queue).
    public static let maxDeliveriesWithoutUpdate = 3

    /// Tags: few and short, so that a job announcement (organization, provisioner and tags) stays
    /// well under PostgreSQL's 8000-byte NOTIFY payload limit.
    public static let maxTags = 16
    public static let maxTagKeyBytes = 64
    public static let maxTagValueBytes = 256

    /// A resource's cost, per day: 0 through 2³¹−1, as Coder stores it.
    public static let dailyCostRange: ClosedRange<Int64> = 0...Int64(Int32.max)
    /// Resources one `complete` may report.
    public static let maxResources = 1000
    /// Template variables, their values and declarations: all of them together fit in
    /// `messageOverheadBytes` beside a job's other fields (64 × (4 + 4 + 1) KiB at most).
    public static let maxVariables = 64
    public static let maxVariableNameBytes = 128
    public static let maxVariableValueBytes = 4096
    /// A declaration's description and default, each.
    public static let maxVariableTextBytes = 4096
    public static let maxVariableTypeBytes = 1024

    /// A variable's name as Terraform allows it (a letter or underscore, then letters, digits,
    /// underscores and dashes), within `maxVariableNameBytes`: it becomes an environment
    /// variable's name (`TF_VAR_<name>`).
    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= maxVariableNameBytes else { return false }
        func letter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
        return letter(first) && name.utf8.allSatisfy { letter($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    public static func base64Length(_ bytes: Int) -> Int { (bytes + 2) / 3 * 4 }
}

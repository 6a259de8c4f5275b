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

    public static func base64Length(_ bytes: Int) -> Int { (bytes + 2) / 3 * 4 }
}

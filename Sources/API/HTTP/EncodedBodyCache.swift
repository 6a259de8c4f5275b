import Hummingbird
import Synchronization

/// A response body encoded once per version of what it shows (a snapshot's generation, say),
/// for endpoints that dashboards and browsers poll hard: a request for an unchanged version
/// costs no encoding.
final class EncodedBodyCache<Version: Equatable & Sendable>: Sendable {
    private let cached = Mutex<(version: Version, body: ByteBuffer)?>(nil)

    func body(for version: Version, encode: () throws -> ByteBuffer) rethrows -> ByteBuffer {
        if let hit = cached.withLock({ $0 }), hit.version == version { return hit.body }
        let body = try encode()
        cached.withLock { $0 = (version, body) }
        return body
    }
}

import Telemetry
import WebSocket

/// Counts what crosses WebSocket connections into the replica's metrics. The counters of the
/// known frame kinds are looked up once, here, not on every frame.
struct WebSocketMetricsObserver: WebSocketObserver {
    private let metrics: CoordinatorMetrics
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let framesIn: [String: Counter]
    private let framesOut: [String: Counter]

    static let kinds = ["text", "binary", "fragment", "ping", "pong", "close"]

    init(_ metrics: CoordinatorMetrics) {
        self.metrics = metrics
        bytesIn = metrics.webSocketBytes(direction: "in")
        bytesOut = metrics.webSocketBytes(direction: "out")
        framesIn = Dictionary(uniqueKeysWithValues: Self.kinds.filter { $0 != "fragment" }.map { ($0, metrics.webSocketMessages(direction: "in", type: $0)) })
        framesOut = Dictionary(uniqueKeysWithValues: Self.kinds.map { ($0, metrics.webSocketMessages(direction: "out", type: $0)) })
    }

    func transferred(bytes: Int, inbound: Bool) {
        (inbound ? bytesIn : bytesOut).increment(by: Int64(bytes))
    }

    func frame(_ kind: String, inbound: Bool) {
        (inbound ? framesIn : framesOut)[kind]?.increment()
    }

    func closed(code: UInt16) {
        metrics.webSocketClosed(code: Int(code))
    }
}

import Prometheus
import Synchronization

/// Every metric one replica exports at `/metrics`, on one registry per replica (a test runs
/// several replicas in one process, so nothing is global).
///
/// Names and labels follow Prometheus' conventions (base units, `_total` counters, bounded
/// label values: a route pattern, never a raw path). Every series is summable across replicas:
/// a replica counts only what it did itself; a deployment-wide value (jobs in the queue,
/// entitlement warnings) is exported by one replica only, the reporter (see
/// `DeploymentGauges`), and as 0 by the others, so that `sum()` over replicas is the
/// deployment's value and not N times it (coder/coder#12462, #20883).
public final class CoordinatorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let collectors = Mutex<[@Sendable () async -> Void]>([])

    // Replicas and the database.
    public let replicasLive: Gauge
    public let replicaProbeFailures: Counter
    public let databaseLatency: DurationHistogram
    public let databasePoolWait: DurationHistogram
    // Pubsub.
    public let pubsubRoundTrip: DurationHistogram
    public let pubsubConnected: Gauge
    // Provisioner jobs.
    public let jobDispatch: DurationHistogram
    public let deploymentReporter: Gauge

    /// Latency buckets from 0.5 ms to 10 s: database round trips and dispatch sit at the low end.
    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10),
    ]
    /// Queue waits run from milliseconds (a daemon was idle) to minutes (none was).
    static let queueWaitBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15),
        .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        replicasLive = registry.makeGauge(
            name: "coordinator_replicas_live",
            help: "Live replicas as this replica sees them, itself included (aggregate with min, not sum)."
        )
        replicaProbeFailures = registry.makeCounter(
            name: "coordinator_replica_probe_failures_total",
            help: "Probes of a peer's relay address that failed or timed out."
        )
        databaseLatency = registry.makeDurationHistogram(
            name: "coordinator_database_latency_seconds", buckets: Self.latencyBuckets,
            help: "Median of three SELECT 1 round trips, measured at each heartbeat."
        )
        databasePoolWait = registry.makeDurationHistogram(
            name: "coordinator_database_pool_wait_seconds", buckets: Self.latencyBuckets,
            help: "Time a query waited for a connection of the pool."
        )
        pubsubRoundTrip = registry.makeDurationHistogram(
            name: "coordinator_pubsub_round_trip_seconds", buckets: Self.latencyBuckets,
            help: "Time from this replica's NOTIFY probe until it heard it back over LISTEN."
        )
        pubsubConnected = registry.makeGauge(
            name: "coordinator_pubsub_connected",
            help: "1 while the LISTEN connection is up."
        )
        jobDispatch = registry.makeDurationHistogram(
            name: "coordinator_provisioner_job_dispatch_seconds", buckets: Self.latencyBuckets,
            help: "Time from the wake-up of a waiting daemon (a job posted, anywhere in the deployment) until the job was handed to it."
        )
        deploymentReporter = registry.makeGauge(
            name: "coordinator_deployment_metrics_reporter",
            help: "1 on the one replica that exports deployment-wide values (the live replica with the lowest id); 0 elsewhere."
        )
    }

    // MARK: labelled series, made on first use (the registry returns the same series for the same labels)

    public func pubsubResync(reason: String) {
        registry.makeCounter(
            name: "coordinator_pubsub_resyncs_total", labels: [("reason", reason)],
            help: "Times subscribers were told to re-read state: the LISTEN connection was re-established (reconnect) or a subscriber fell behind (overflow)."
        ).increment()
    }

    public func provisionerDaemons(status: String) -> Gauge {
        registry.makeGauge(
            name: "coordinator_provisioner_daemons", labels: [("status", status)],
            help: "Provisioner daemons connected to this replica, by status (idle: waiting for a job; busy: running one)."
        )
    }

    public func provisionerJobs(type: String, status: String) -> Gauge {
        registry.makeGauge(
            name: "coordinator_provisioner_jobs", labels: [("type", type), ("status", status)],
            help: "Provisioner jobs in the deployment by type and status (pending, running); exported by the reporter replica only."
        )
    }

    public func jobQueueWait(type: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            name: "coordinator_provisioner_job_queue_wait_seconds", labels: [("type", type)], buckets: Self.queueWaitBuckets,
            help: "Time from a job's creation until a daemon on this replica acquired it."
        )
    }


    public func webSocketMessages(direction: String, type: String) -> Counter {
        registry.makeCounter(
            name: "coordinator_websocket_messages_total", labels: [("direction", direction), ("type", type)],
            help: "WebSocket messages and control frames, by direction (in, out) and type (text, binary, fragment, ping, pong, close)."
        )
    }

    public func webSocketBytes(direction: String) -> Counter {
        registry.makeCounter(
            name: "coordinator_websocket_bytes_total", labels: [("direction", direction)],
            help: "Bytes read from and written to WebSocket connections, framing included."
        )
    }

    /// The close codes RFC 6455 and IANA define get a series each; anything else a peer sends
    /// (the 3000–4999 application range) is `other`, so a hostile peer cannot grow the series.
    public func webSocketClosed(code: Int) {
        let label = (1000...1015).contains(code) ? String(code) : "other"
        registry.makeCounter(
            name: "coordinator_websocket_closes_total", labels: [("code", label)],
            help: "WebSocket connections ended, by close code (1006: without a close frame)."
        ).increment()
    }

    /// Methods beyond HTTP's own are `OTHER` (a client may send any token as a method), so that,
    /// with the route pattern and our own status codes, the label values stay bounded.
    public func httpRequestDuration(method: String, route: String, code: Int) -> DurationHistogram {
        let method = Self.knownMethods.contains(method) ? method : "OTHER"
        return registry.makeDurationHistogram(
            name: "coordinator_http_request_duration_seconds",
            labels: [("method", method), ("route", route), ("code", String(code))], buckets: Self.latencyBuckets,
            help: "HTTP request durations by method, route pattern and status code, until the response head."
        )
    }

    public func entitlements(kind: String) -> Gauge {
        registry.makeGauge(
            name: "coordinator_entitlements_messages", labels: [("kind", kind)],
            help: "Entitlement warnings and errors currently shown (kind: warning, error); exported by the reporter replica only."
        )
    }

    // MARK: scraping

    /// Runs before each scrape, to set gauges from live state.
    public func addCollector(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// The text exposition format (version 0.0.4), after every collector ran.
    public func scrape() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) {
            await collect()
        }
        return registry.emitToBuffer()
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"]

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

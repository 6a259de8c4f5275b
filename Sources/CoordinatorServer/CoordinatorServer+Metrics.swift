import Hummingbird
import Licensing
import Logging
import NIOCore
import Provisioning
import Replicas
import ServiceLifecycle
import Store
import Telemetry

extension CoordinatorServer {
    /// `/metrics` on a listener of its own, unauthenticated, as Coder serves it (keep it on a
    /// private address: `--prometheus-address` defaults to 127.0.0.1:2112).
    func metricsApplication(_ metrics: CoordinatorMetrics) -> (any Service)? {
        guard let address = configuration.prometheus else { return nil }
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            let body = await metrics.scrape()
            return Response(
                status: .ok, headers: [.contentType: CoordinatorMetrics.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        let (logger, onMetricsServing) = (self.logger, self.onMetricsServing)
        return Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                logger.notice("serving metrics", metadata: ["address": "\(channel.localAddress?.description ?? "\(address.host):\(address.port)")"])
                if let bound = channel.localAddress { await onMetricsServing(bound) }
            },
            logger: logger
        )
    }

    /// Gauges read at each scrape from what the replica holds in memory, and, on the reporter
    /// replica only, from the database (jobs) and the entitlements: deployment-wide values that
    /// every replica would otherwise export once each.
    static func collectDeploymentMetrics(
        _ metrics: CoordinatorMetrics, store: Store, membership: ReplicaMembership, acquirer: JobAcquirer,
        connections: DaemonConnections, entitlements: LiveEntitlements, logger: Logger
    ) {
        let idle = metrics.provisionerDaemons(status: "idle"), busy = metrics.provisionerDaemons(status: "busy")
        let warnings = metrics.entitlements(kind: "warning"), errors = metrics.entitlements(kind: "error")
        // Every (type, status) series is always exported, 0 when there are none, so that a
        // rate or an alert never sees a series vanish.
        var jobs: [String: Gauge] = [:]
        for type in [ProvisionerJobType.templateVersionImport, .workspaceBuild] {
            for status in ["pending", "running"] {
                jobs["\(type.rawValue)/\(status)"] = metrics.provisionerJobs(type: type.rawValue, status: status)
            }
        }
        let jobGauges = jobs
        metrics.addCollector {
            let waiting = acquirer.waitingDaemons
            idle.set(to: Double(waiting))
            busy.set(to: Double(max(0, connections.count - waiting)))
            let reporter = membership.isDeploymentReporter
            let current = entitlements.current
            warnings.set(to: reporter ? Double(current.warnings.count) : 0)
            errors.set(to: reporter ? Double(current.errors.count) : 0)
            var counts: [String: Int64] = [:]
            if reporter {
                do {
                    for count in try await store.jobCounts() { counts["\(count.type)/\(count.status)", default: 0] += count.count }
                } catch {
                    logger.debug("counting jobs for the metrics failed", metadata: ["error": "\(error)"])
                }
            }
            for (key, gauge) in jobGauges { gauge.set(to: Double(counts[key] ?? 0)) }
        }
    }
}

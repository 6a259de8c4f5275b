import API
import Hummingbird
import Licensing
import Logging
import Postgres
import ProvisionerProtocol
import Provisioning
import Pubsub
import Replicas
import ServiceLifecycle
import UnixSignals
import Telemetry
import WebSocket

extension CoordinatorServer {
    /// Every long-running part of a replica on an open, migrated database, in start order.
    func makeServiceGroup(database: Database, licensing: LicensingServices, metrics: CoordinatorMetrics, tls: ReloadableTLS?) -> ServiceGroup {
        let logger = self.logger
        let listener = Listener(.init(connectionString: database.connectionString), logger: logger)
        let pubsub = Pubsub(listener: listener, pool: database.store.pool, metrics: metrics, logger: logger)
        let membership = ReplicaMembership(
            configuration: configuration.replica, store: database.store, lockConnectionString: database.connectionString,
            pubsub: pubsub, metrics: metrics, logger: logger
        )
        let acquirer = JobAcquirer(store: database.store, pubsub: pubsub, metrics: metrics, logger: logger)
        let daemonConnections = DaemonConnections(store: database.store, pubsub: pubsub, logger: logger)
        let reaper = JobReaper(store: database.store, grace: configuration.jobOrphanGrace, hangBound: configuration.jobHangTimeout, logger: logger)
        let provisioners = ProvisionerServices(
            acquirer: acquirer, connections: daemonConnections, pubsub: pubsub, replicaID: configuration.replica.id,
            preSharedKey: configuration.provisionerPreSharedKey,
            // Holds the largest job a daemon can be handed: see ProvisionerLimits.
            webSocket: WebSocketConfiguration(maxMessageSize: ProvisionerLimits.maxMessageBytes, pingInterval: .seconds(15), pingTimeout: .seconds(30)),
            logLimits: configuration.jobLogLimits,
            daemonCaps: configuration.provisionerDaemonCaps,
            jobHangTimeout: configuration.jobHangTimeout,
            // Quotas are part of template RBAC: enforced while it is licensed and switched on.
            quotaEnforced: { [entitlements = licensing.entitlements] in entitlements.isEnabled(.templateRBAC) }
        )
        // The one place the HTTP layer is built.
        var apiConfiguration = APIServer.Configuration(
            version: configuration.version, accessURL: configuration.accessURL,
            connectionLimits: configuration.connectionLimits, loginPolicy: configuration.loginPolicy, proxyTrust: configuration.proxyTrust,
            scimKey: configuration.scimKey
        )
        apiConfiguration.passwordHashing = configuration.passwordHashing
        let server = APIServer(
            store: database.store, configuration: apiConfiguration,
            pubsub: pubsub, membership: membership, provisioners: provisioners, licensing: licensing, metrics: metrics, logger: logger
        )
        Self.collectDeploymentMetrics(metrics, store: database.store, membership: membership, acquirer: acquirer, connections: daemonConnections, entitlements: licensing.entitlements, logger: logger)
        let router = server.makeRouter()
        let (host, port, onServing) = (configuration.host, configuration.port, self.onServing)
        // One connection cap for the HTTP and the HTTPS listener together.
        let gate = server.makeConnectionGate()
        let app = Application(
            router: router,
            server: server.makeServerBuilder(router: router, gate: gate),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.notice("serving", metadata: ["address": "\(channel.localAddress?.description ?? "\(host):\(port)")"])
                if let address = channel.localAddress { await onServing(address) }
            },
            logger: logger
        )
        var listeners: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if let tls, let settings = configuration.tls {
            listeners.append(.init(service: Application(
                router: router,
                server: server.makeServerBuilder(router: router, tls: tls, gate: gate),
                configuration: .init(address: .hostname(settings.address.host, port: settings.address.port), serverName: nil),
                onServerRunning: { channel in
                    logger.notice("serving HTTPS", metadata: ["address": "\(channel.localAddress?.description ?? "\(settings.address.host):\(settings.address.port)")"])
                },
                logger: logger
            )))
            listeners.append(.init(service: TaskService { await Self.reloadOnHangup(tls, logger: logger) }))
        }
        var serviceConfiguration = ServiceGroupConfiguration(
            // Graceful shutdown runs in reverse order: the replica deregisters first (peers drop it
            // at once), then HTTP drains, then pubsub stops.
            services: [
                .init(service: TaskService { await pubsub.run() }),
                .init(service: TaskService { await server.authenticator.followRevocations() }),
                .init(service: TaskService { await acquirer.run() }),
                .init(service: TaskService { await daemonConnections.run() }),
                .init(service: TaskService { await reaper.run() }),
                .init(service: TaskService {
                    await RetentionPurges(
                        store: database.store, policy: configuration.retention, interval: configuration.purgeInterval,
                        firstDelay: min(configuration.purgeInterval, .seconds(60)), logger: logger
                    ).run()
                }),
                .init(service: TaskService { await licensing.entitlements.run(pubsub: pubsub) }),
                .init(service: TaskService {
                    for await snapshot in membership.changes() {
                        licensing.entitlements.replicasChanged(startTimes: snapshot.replicas.map(\.startedAt))
                    }
                }),
                .init(service: TaskService { await licensing.appearance.run(pubsub: pubsub) }),
            ] + (metricsApplication(metrics).map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? []) + listeners + [
                .init(service: TaskService { await membership.run() }),
            ],
            gracefulShutdownSignals: configuration.gracefulShutdownSignals,
            logger: logger
        )
        // Backstop: a connection that ignores the quiesce request cannot hold the shutdown forever.
        serviceConfiguration.maximumGracefulShutdownDuration = configuration.maximumGracefulShutdownDuration
        return ServiceGroup(configuration: serviceConfiguration)
    }
}

extension CoordinatorServer {
    /// Re-reads the certificate and key on every SIGHUP; a failed reload keeps the old ones and
    /// says why.
    static func reloadOnHangup(_ tls: ReloadableTLS, logger: Logger) async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            do {
                try tls.reload()
                logger.notice("reloaded the TLS certificate", metadata: ["file": "\(tls.certificateFile)"])
            } catch {
                logger.error("reloading the TLS certificate failed; keeping the previous one", metadata: ["error": "\(error)"])
            }
        }
    }
}

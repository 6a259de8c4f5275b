import Hummingbird
import Pubsub
import Store

/// `/healthz` for load balancers and `/api/v2/buildinfo` (`BuildInfo`), all public.
struct HealthController: ResourceController {
    let store: Store
    let pubsub: Pubsub?
    let version: String
    let externalURL: String

    var mountPath: String { "" }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("healthz") { _, _ in
            // Load balancers are unauthenticated: say what is wrong, not where (the log has that).
            do {
                try await store.ping()
            } catch {
                throw APIError(.serviceUnavailable, "database unreachable", underlying: error)
            }
            if let pubsub, case .broken(let reason) = pubsub.selfTest.health {
                throw APIError(.serviceUnavailable, "pubsub not working", underlying: InternalFailure(description: reason))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "OK")))
        }
        // Peers probe this to check that they can reach us at our relay address.
        routes.get("derp/latency-check") { _, _ in Response(status: .ok) }
        let info = BuildInfo(version: version, external_url: externalURL)
        routes.get("api/v2/buildinfo") { _, _ in info }
        return routes
    }
}

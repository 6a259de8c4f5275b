import Hummingbird
import Licensing

/// `GET /api/v2/entitlements`: anonymous, as in Coder, and answered from memory with the JSON
/// encoded once per computation.
struct EntitlementsController: ResourceController {
    let entitlements: LiveEntitlements

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("entitlements") { _, _ in
            JSON.bytes(ByteBuffer(bytes: entitlements.snapshot.json))
        }
        return routes
    }
}

import Foundation
import Hummingbird
import Licensing
import Store

/// `GET/PUT /api/v2/appearance`: the seed's `{logo_url, service_banner}` plus Coder's later
/// `announcement_banners` (`service_banner` mirrors the first) and `support_links`.
///
/// GET answers from memory (every replica keeps the stored value, re-read on NOTIFY). Without
/// the `appearance` feature GET shows the defaults and PUT is refused by the gate — where Coder
/// stores a value it will not show, we refuse, so that what an owner saves is what users see.
/// The body is `AppearanceUpdate`, the answer `AppearanceJSON`.
struct AppearanceController: ResourceController {
    let store: Store
    let services: LicensingServices
    /// Keyed by the stored value's generation and whether the feature shows it.
    private let encoded = EncodedBodyCache<[UInt64]>()

    init(store: Store, services: LicensingServices) {
        self.store = store
        self.services = services
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("appearance") { _, _ in
            let (appearance, generation) = services.appearance.currentWithGeneration
            let shown = services.entitlements.isEnabled(.appearance)
            return JSON.bytes(try encoded.body(for: [generation, shown ? 1 : 0]) {
                try JSON.encode(AppearanceJSON(shown ? appearance : .unset))
            })
        }
        signedIn.group("appearance").add(middleware: guards.feature(.appearance) as RequireFeature<SignedInContext>).put(use: update)
        return routes
    }

    @Sendable func update(_ request: Request, _ context: SignedInContext) async throws -> AppearanceJSON {
        guard RBAC.can(context.subject, .update, .deploymentConfig) else {
            throw APIError(.forbidden, "Insufficient permissions to update appearance")
        }
        let appearance = try await request.decode(as: AppearanceUpdate.self, context: context).appearance
        // Coder does not audit appearance; we do, as one deployment-wide resource.
        let entry = try context.audit.record(
            .appearance, id: services.deploymentID, target: "appearance", action: .write,
            old: services.appearance.current, new: appearance, status: .ok
        )
        try await store.setAppearance(appearance, audit: entry)
        // This replica shows the change before it answers; the others on the announcement.
        do {
            try await services.appearance.reload()
        } catch {
            context.logger.warning("re-reading the appearance after an update failed", metadata: ["error": "\(error)"])
        }
        return AppearanceJSON(appearance)
    }
}

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
struct AppearanceController: ResourceController {
    let store: Store
    let services: LicensingServices
    let audit: AuditRecorder
    /// Keyed by the stored value's generation and whether the feature shows it.
    private let encoded = EncodedBodyCache<[UInt64]>()

    init(store: Store, services: LicensingServices, audit: AuditRecorder) {
        self.store = store
        self.services = services
        self.audit = audit
    }

    struct AppearanceJSON: ResponseEncodable {
        let logo_url: String
        let service_banner: Appearance.Banner
        let announcement_banners: [Appearance.Banner]
        let support_links: [Appearance.SupportLink]

        init(_ appearance: Appearance) {
            logo_url = appearance.logoURL
            service_banner = appearance.announcementBanners.first ?? Appearance.Banner()
            announcement_banners = appearance.announcementBanners
            support_links = appearance.supportLinks ?? AppearanceController.defaultSupportLinks
        }
    }

    /// Coder's default links, shown until an owner sets others.
    static let defaultSupportLinks = [
        Appearance.SupportLink(name: "Documentation", target: "https://coder.com/docs/coder-oss", icon: "docs"),
        Appearance.SupportLink(name: "Report a bug", target: "https://github.com/coder/coder/issues/new?labels=needs+grooming", icon: "bug"),
        Appearance.SupportLink(name: "Join the Coder Discord", target: "https://coder.com/chat?utm_source=coder&utm_medium=coder&utm_campaign=server-footer", icon: "chat"),
    ]

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: guards.authentication)
        routes.get("appearance") { _, _ in
            let (appearance, generation) = services.appearance.currentWithGeneration
            let shown = services.entitlements.isEnabled(.appearance)
            return JSON.bytes(try encoded.body(for: [generation, shown ? 1 : 0]) {
                try JSON.encode(AppearanceJSON(shown ? appearance : .unset))
            })
        }
        routes.group("appearance").add(middleware: guards.feature(.appearance)).put(use: update)
        return routes
    }

    @Sendable func update(_ request: Request, _ context: AppRequestContext) async throws -> AppearanceJSON {
        let subject = try context.requireSubject()
        guard RBAC.can(subject, .update, .deploymentConfig) else {
            throw APIError(.forbidden, "Insufficient permissions to update appearance")
        }
        let appearance = try await request.decode(as: AppearanceUpdate.self, context: context).appearance
        // Coder does not audit appearance; we do, as one deployment-wide resource.
        let entry = try audit.entry(
            request, context, resourceType: .appearance, resourceID: services.deploymentID, target: "appearance", action: .write,
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

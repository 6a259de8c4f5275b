import Foundation
import Hummingbird
import Store

extension AppearanceController {
    /// `GET/PUT /appearance`'s answer.
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
}

import Foundation
import Store

/// A `PUT /appearance` body, checked whole before anything is stored. The seed's
/// `service_banner` alone still works (it becomes the one announcement banner); when
/// `announcement_banners` is given it wins. `support_links` absent keeps the defaults.
struct AppearanceUpdate: Decodable {
    static let maximumBanners = 16
    static let maximumSupportLinks = 16
    static let maximumMessageLength = 2048
    static let maximumURLLength = 2048
    static let maximumNameLength = 128
    /// Coder's icon names for support links.
    static let supportIcons: Set<String> = ["bug", "chat", "docs", "star"]

    let appearance: Appearance

    private struct BannerBody: Decodable {
        let banner: Appearance.Banner

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            banner = Appearance.Banner(
                enabled: fields.optional("enabled") ?? false,
                message: fields.optional("message") ?? "",
                backgroundColor: fields.optional("background_color") ?? ""
            )
            try fields.check()
        }
    }

    private struct SupportLinkBody: Decodable {
        let link: Appearance.SupportLink

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            link = Appearance.SupportLink(name: fields.required("name"), target: fields.required("target"), icon: fields.optional("icon") ?? "")
            try fields.check()
        }
    }

    init(from decoder: any Decoder) throws {
        var fields = try RequestFields(decoder)
        let logoURL: String = fields.optional("logo_url") ?? ""
        let serviceBanner = fields.optional("service_banner", as: BannerBody.self)
        let banners = fields.optional("announcement_banners", as: [BannerBody].self)
        let links = fields.optional("support_links", as: [SupportLinkBody].self)
        try fields.check()

        try Self.checkURL(logoURL, schemes: ["http", "https"], message: "Invalid logo URL.")
        let announcementBanners = banners?.map(\.banner) ?? serviceBanner.map { [$0.banner] } ?? []
        guard announcementBanners.count <= Self.maximumBanners else {
            throw APIError(.badRequest, "Too many announcement banners.", detail: "At most \(Self.maximumBanners) are allowed.")
        }
        for banner in announcementBanners { try Self.check(banner) }
        let supportLinks = links?.map(\.link)
        if let supportLinks {
            guard supportLinks.count <= Self.maximumSupportLinks else {
                throw APIError(.badRequest, "Too many support links.", detail: "At most \(Self.maximumSupportLinks) are allowed.")
            }
            for link in supportLinks { try Self.check(link) }
        }
        appearance = Appearance(logoURL: logoURL, announcementBanners: announcementBanners, supportLinks: supportLinks)
    }

    /// Coder's color rule (`#` and six hex digits), for every banner that shows or names a color.
    private static func check(_ banner: Appearance.Banner) throws {
        if banner.enabled || !banner.backgroundColor.isEmpty {
            let color = banner.backgroundColor
            guard color.hasPrefix("#") else {
                throw APIError(.badRequest, "Invalid color format", detail: "no # prefix")
            }
            guard color.utf8.count == 7, color.dropFirst().allSatisfy(\.isHexDigit) else {
                throw APIError(.badRequest, "Invalid color format", detail: "expected # prefix and 6 characters")
            }
        }
        guard banner.message.count <= maximumMessageLength else {
            throw APIError(.badRequest, "Banner message is too long.", detail: "It has \(banner.message.count) characters; at most \(maximumMessageLength) are allowed.")
        }
    }

    private static func check(_ link: Appearance.SupportLink) throws {
        guard !link.name.isEmpty, link.name.count <= maximumNameLength else {
            throw APIError(.badRequest, "Invalid support link.", detail: "A name of 1 to \(maximumNameLength) characters is required.")
        }
        guard !link.target.isEmpty else {
            throw APIError(.badRequest, "Invalid support link.", detail: "The link \"\(link.name)\" has no target.")
        }
        try checkURL(link.target, schemes: ["http", "https", "mailto"], message: "Invalid support link.")
        guard link.icon.isEmpty || supportIcons.contains(link.icon) else {
            throw APIError(.badRequest, "Invalid support link.", detail: "icon must be one of \(supportIcons.sorted().joined(separator: ", ")), or empty.")
        }
    }

    /// Empty, or an absolute URL of one of `schemes` (never `javascript:` and the like: these
    /// are rendered as links).
    private static func checkURL(_ text: String, schemes: Set<String>, message: String) throws {
        guard !text.isEmpty else { return }
        let allowed = schemes.sorted().joined(separator: " or ")
        guard text.utf8.count <= maximumURLLength else {
            throw APIError(.badRequest, message, detail: "The URL is longer than \(maximumURLLength) bytes.")
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), schemes.contains(scheme),
              scheme == "mailto" ? !url.path.isEmpty : !(url.host ?? "").isEmpty
        else {
            throw APIError(.badRequest, message, detail: "\"\(text)\" is not an absolute \(allowed) URL.")
        }
    }
}

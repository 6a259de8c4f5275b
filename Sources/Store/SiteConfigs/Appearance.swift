import Foundation
import Postgres

/// What the deployment shows its users: a logo, announcement banners and support links. Kept in
/// `site_configs` as one JSON value, so that a change is one row and one NOTIFY.
public struct Appearance: Sendable, Equatable, Codable {
    public struct Banner: Sendable, Equatable, Codable {
        public var enabled: Bool
        public var message: String
        /// `#rrggbb`.
        public var backgroundColor: String

        public init(enabled: Bool = false, message: String = "", backgroundColor: String = "") {
            self.enabled = enabled
            self.message = message
            self.backgroundColor = backgroundColor
        }

        enum CodingKeys: String, CodingKey {
            case enabled, message
            case backgroundColor = "background_color"
        }
    }

    public struct SupportLink: Sendable, Equatable, Codable {
        public var name: String
        public var target: String
        public var icon: String

        public init(name: String, target: String, icon: String) {
            self.name = name
            self.target = target
            self.icon = icon
        }
    }

    public var logoURL: String
    public var announcementBanners: [Banner]
    /// Nil: the defaults (see the API); an empty list shows none.
    public var supportLinks: [SupportLink]?

    public init(logoURL: String = "", announcementBanners: [Banner] = [], supportLinks: [SupportLink]? = nil) {
        self.logoURL = logoURL
        self.announcementBanners = announcementBanners
        self.supportLinks = supportLinks
    }

    /// Nothing configured.
    public static let unset = Appearance()

    enum CodingKeys: String, CodingKey {
        case logoURL = "logo_url"
        case announcementBanners = "announcement_banners"
        case supportLinks = "support_links"
    }
}

extension SiteConfigs {
    static let appearance = PostgresQuery<PostgresJSONValue<Appearance>>(
        "SELECT value FROM site_configs WHERE key = 'appearance'", column: "value"
    )

    static func setAppearance(_ appearance: Appearance) throws -> PostgresQuery<Void> {
        let value = try PostgresJSONValue(appearance)
        return PostgresQuery("INSERT INTO site_configs (key, value) VALUES ('appearance', \(value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
    }

    /// Delivered to every replica when the transaction commits: each re-reads the row.
    static let announceAppearance = PostgresQuery<Void>("SELECT pg_notify(\(Store.appearanceChannel), '')")
}

import Hummingbird

extension HealthController {
    /// `GET /api/v2/buildinfo`.
    struct BuildInfo: ResponseEncodable {
        let version: String
        let external_url: String
    }
}

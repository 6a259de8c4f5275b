import Foundation

/// RFC 7644 §4's discovery documents. They describe what this server does now, no more: no
/// operation on Users or Groups is served yet, so none is advertised.
enum SCIMDiscovery {
    struct Supported: Encodable {
        let supported: Bool
    }

    struct Limits: Encodable {
        let supported: Bool
        let maxOperations: Int
        let maxPayloadSize: Int
    }

    struct FilterSupport: Encodable {
        let supported: Bool
        let maxResults: Int
    }

    struct AuthenticationScheme: Encodable {
        let type: String
        let name: String
        let description: String
        let primary: Bool
    }

    struct Meta: Encodable {
        let resourceType: String
        let location: String
    }

    struct ServiceProviderConfig: Encodable {
        let schemas = ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
        let documentationUri = "https://github.com/coder/coder"
        let patch = Supported(supported: false)
        let bulk = Limits(supported: false, maxOperations: 0, maxPayloadSize: 0)
        let filter = FilterSupport(supported: false, maxResults: 0)
        let changePassword = Supported(supported: false)
        let sort = Supported(supported: false)
        let etag = Supported(supported: false)
        let authenticationSchemes = [
            AuthenticationScheme(type: "oauthbearertoken", name: "Bearer token", description: "The key given to --scim-auth-header, as Authorization: Bearer <key>.", primary: true),
        ]
        let meta = Meta(resourceType: "ServiceProviderConfig", location: "/scim/v2/ServiceProviderConfig")
    }

    struct ListResponse<Resource: Encodable & Sendable>: Encodable, Sendable {
        let schemas = ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        let totalResults: Int
        let startIndex = 1
        let itemsPerPage: Int
        let Resources: [Resource]

        init(_ resources: [Resource]) {
            totalResults = resources.count
            itemsPerPage = resources.count
            Resources = resources
        }
    }

    struct Empty: Encodable, Sendable {}

    static let serviceProviderConfig = ServiceProviderConfig()
    static let resourceTypes = ListResponse<Empty>([])
    static let schemas = ListResponse<Empty>([])
}

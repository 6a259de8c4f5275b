import Foundation

/// RFC 7644 §4's discovery documents. They describe what this server does, no more and no less:
/// PATCH, bulk (`SCIMBulkController.maxOperations`, the body limit), filters (up to
/// `SCIMLimits.maximumResults` per page), sorting and ETags; no password changes (users sign in
/// through the IdP).
struct SCIMDiscovery: Sendable {
    let base: String

    struct Supported: Encodable, Sendable {
        let supported: Bool
    }

    struct Limits: Encodable, Sendable {
        let supported: Bool
        let maxOperations: Int
        let maxPayloadSize: Int
    }

    struct FilterSupport: Encodable, Sendable {
        let supported: Bool
        let maxResults: Int
    }

    struct AuthenticationScheme: Encodable, Sendable {
        let type: String
        let name: String
        let description: String
        let primary: Bool
    }

    struct Meta: Encodable, Sendable {
        let resourceType: String
        let location: String
    }

    struct ServiceProviderConfig: Encodable, Sendable {
        let schemas = ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
        let documentationUri = "https://github.com/coder/coder"
        let patch = Supported(supported: true)
        let bulk = Limits(supported: true, maxOperations: SCIMBulkController.maxOperations, maxPayloadSize: maximumJSONBodySize)
        let filter = FilterSupport(supported: true, maxResults: SCIMLimits.maximumResults)
        let changePassword = Supported(supported: false)
        let sort = Supported(supported: true)
        let etag = Supported(supported: true)
        let authenticationSchemes = [
            AuthenticationScheme(type: "oauthbearertoken", name: "Bearer token", description: "The key given to --scim-auth-header, as Authorization: Bearer <key>.", primary: true),
        ]
        let meta: Meta
    }

    struct SchemaExtension: Encodable, Sendable {
        let schema: String
        let required: Bool
    }

    struct ResourceType: Encodable, Sendable {
        let schemas = ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]
        let id: String
        let name: String
        let endpoint: String
        let description: String
        let schema: String
        let schemaExtensions: [SchemaExtension]
        let meta: Meta
    }

    var serviceProviderConfig: ServiceProviderConfig {
        ServiceProviderConfig(meta: Meta(resourceType: "ServiceProviderConfig", location: "\(base)/ServiceProviderConfig"))
    }

    var resourceTypeList: [ResourceType] {
        [
            ResourceType(id: "User", name: "User", endpoint: "/Users", description: "The product's users (default organization).",
                         schema: SCIMSchema.userURN, schemaExtensions: [SchemaExtension(schema: SCIMSchema.enterpriseUserURN, required: false)],
                         meta: Meta(resourceType: "ResourceType", location: "\(base)/ResourceTypes/User")),
            ResourceType(id: "Group", name: "Group", endpoint: "/Groups", description: "The default organization's groups (Everyone excepted).",
                         schema: SCIMSchema.groupURN, schemaExtensions: [],
                         meta: Meta(resourceType: "ResourceType", location: "\(base)/ResourceTypes/Group")),
        ]
    }

    var resourceTypes: SCIMListResponse<ResourceType> {
        SCIMListResponse(total: resourceTypeList.count, startIndex: 1, resources: resourceTypeList)
    }

    func resourceType(_ id: String) -> ResourceType? {
        resourceTypeList.first { $0.id.caseInsensitiveCompare(id) == .orderedSame }
    }

    var schemas: SCIMListResponse<SCIMSchema.Document> {
        let documents = SCIMSchema.all.map { $0.document(base: base) }
        return SCIMListResponse(total: documents.count, startIndex: 1, resources: documents)
    }

    func schema(_ id: String) -> SCIMSchema.Document? {
        SCIMSchema.all.first { $0.id.caseInsensitiveCompare(id) == .orderedSame }?.document(base: base)
    }
}

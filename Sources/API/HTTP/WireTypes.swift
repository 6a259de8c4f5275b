import Foundation
import Hummingbird
import Store

/// JSON shapes of the API, named as Coder's `codersdk` names them. Field names follow the seed.
struct RoleJSON: Codable, Equatable {
    let name: String
    let display_name: String
}

struct UserJSON: ResponseEncodable {
    let id: UUID
    let username: String
    let email: String
    let avatar_url: String
    let created_at: Date
    let last_seen_at: Date
    let status: String
    let organization_ids: [UUID]
    let roles: [RoleJSON]

    init(_ user: User) {
        id = user.id
        username = user.username
        email = user.email
        avatar_url = user.avatarURL
        created_at = user.createdAt
        last_seen_at = user.lastSeenAt
        status = user.status.rawValue
        organization_ids = user.organizationIDs
        roles = user.siteRoles.sorted().map { RoleJSON(name: $0, display_name: Role(rawValue: $0)?.displayName ?? $0) }
    }
}

struct OrganizationJSON: ResponseEncodable {
    let id: UUID
    let name: String
    let display_name: String
    let description: String
    let icon: String
    let is_default: Bool
    let created_at: Date
    let updated_at: Date

    init(_ organization: Organization) {
        id = organization.id
        name = organization.name
        display_name = organization.displayName
        description = organization.description
        icon = ""
        is_default = organization.isDefault
        created_at = organization.createdAt
        updated_at = organization.updatedAt
    }
}

struct MessageJSON: Codable, ResponseEncodable {
    let message: String
}

/// An optional field written as `null` when absent (Go's pointer without `omitempty`), where a
/// synthesized `Encodable` would leave the key out.
struct JSONNullable<Wrapped: Encodable>: Encodable {
    let value: Wrapped?
    init(_ value: Wrapped?) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}

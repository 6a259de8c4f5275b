import Foundation

public enum UserStatus: String, Sendable, Codable, CaseIterable {
    case active, suspended, dormant
}

public struct User: Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var username: String
    public var hashedPassword: String
    public var avatarURL: String
    public var status: UserStatus
    /// Site-wide roles (owner, template-admin, user-admin, auditor); "member" is implied.
    public var siteRoles: [String]
    public var loginType: String
    public var createdAt: Date
    public var updatedAt: Date
    public var lastSeenAt: Date
    public var organizationIDs: [UUID]
}

public struct Organization: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var displayName: String
    public var description: String
    public var isDefault: Bool
    public var createdAt: Date
    public var updatedAt: Date
}

public struct OrganizationMembership: Sendable, Equatable, Hashable {
    public var organizationID: UUID
    public var roles: [String]
}

public struct APIKey: Sendable, Equatable {
    public var id: String
    public var hashedSecret: [UInt8]
    public var userID: UUID
    public var loginType: String
    public var lifetimeSeconds: Int64
    public var expiresAt: Date
    public var createdAt: Date
    public var lastUsed: Date

    public init(id: String, hashedSecret: [UInt8], userID: UUID, loginType: String, lifetimeSeconds: Int64, expiresAt: Date, createdAt: Date, lastUsed: Date) {
        self.id = id
        self.hashedSecret = hashedSecret
        self.userID = userID
        self.loginType = loginType
        self.lifetimeSeconds = lifetimeSeconds
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.lastUsed = lastUsed
    }
}

public struct NewUser: Sendable {
    public var id: UUID
    public var email: String
    public var username: String
    public var hashedPassword: String
    public var siteRoles: [String]
    public var loginType: String
    public var organizationID: UUID?

    public init(id: UUID = UUID(), email: String, username: String, hashedPassword: String, siteRoles: [String] = [], loginType: String = "password", organizationID: UUID?) {
        self.id = id
        self.email = email
        self.username = username
        self.hashedPassword = hashedPassword
        self.siteRoles = siteRoles
        self.loginType = loginType
        self.organizationID = organizationID
    }
}

/// A problem the store can name precisely; the HTTP layer maps these to responses.
public enum StoreError: Error, Sendable, Equatable {
    case notFound
    /// A uniqueness rule was broken: which field ("email", "username", "name").
    case conflict(field: String)
    /// The first user exists already.
    case alreadyInitialized
    /// The workspace has a build whose job has not ended.
    case buildActive
}

public struct Replica: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var startedAt: Date
    public var stoppedAt: Date?
    public var updatedAt: Date
    public var hostname: String
    public var regionID: Int32
    public var relayAddress: String
    public var version: String
    /// Microseconds.
    public var databaseLatency: Int32
    public var error: String

    public init(id: UUID, createdAt: Date, startedAt: Date, stoppedAt: Date? = nil, updatedAt: Date, hostname: String, regionID: Int32, relayAddress: String, version: String, databaseLatency: Int32, error: String) {
        self.id = id
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
        self.updatedAt = updatedAt
        self.hostname = hostname
        self.regionID = regionID
        self.relayAddress = relayAddress
        self.version = version
        self.databaseLatency = databaseLatency
        self.error = error
    }
}

/// What a replica writes about itself at every heartbeat.
public struct ReplicaHeartbeat: Sendable, Equatable {
    public var id: UUID
    public var startedAt: Date
    public var hostname: String
    public var regionID: Int32
    public var relayAddress: String
    public var version: String
    public var databaseLatency: Int32
    public var error: String
    public var heartbeatIntervalMilliseconds: Int32
    public var lockKey: Int32

    public init(id: UUID, startedAt: Date, hostname: String, regionID: Int32, relayAddress: String, version: String, databaseLatency: Int32, error: String, heartbeatIntervalMilliseconds: Int32, lockKey: Int32) {
        self.id = id
        self.startedAt = startedAt
        self.hostname = hostname
        self.regionID = regionID
        self.relayAddress = relayAddress
        self.version = version
        self.databaseLatency = databaseLatency
        self.error = error
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.lockKey = lockKey
    }
}

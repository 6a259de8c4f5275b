import Foundation
import Postgres

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

/// The `api_keys` table's statements.
enum APIKeys {
    static func insert(_ key: APIKey) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            INSERT INTO api_keys (id, hashed_secret, user_id, login_type, lifetime_seconds, expires_at)
            VALUES (\(key.id), \(PostgresBytes(key.hashedSecret)), \(key.userID), \(key.loginType), \(key.lifetimeSeconds), \(key.expiresAt))
            """
        )
    }

    private static let columns: SQL = "id, hashed_secret, user_id, login_type, lifetime_seconds, expires_at, created_at, last_used"

    private static func key(_ row: PostgresRow) throws -> APIKey {
        APIKey(
            id: try row.decode("id"), hashedSecret: try row.decode("hashed_secret", as: PostgresBytes.self).bytes,
            userID: try row.decode("user_id"), loginType: try row.decode("login_type"), lifetimeSeconds: try row.decode("lifetime_seconds"),
            expiresAt: try row.decode("expires_at"), createdAt: try row.decode("created_at"), lastUsed: try row.decode("last_used")
        )
    }

    static func withID(_ id: String) -> PostgresQuery<APIKey> {
        PostgresQuery("SELECT \(columns) FROM api_keys WHERE id = \(id)", decode: key)
    }

    /// Deletes the key and returns it as it was; no row if there was no such key.
    static func delete(id: String) -> PostgresQuery<APIKey> {
        PostgresQuery("DELETE FROM api_keys WHERE id = \(id) RETURNING \(columns)", decode: key)
    }

    /// Marks a key used; a non-nil `expiresAt` moves its expiry.
    static func refresh(id: String, extendTo expiresAt: Date?) -> PostgresQuery<Void> {
        PostgresQuery("UPDATE api_keys SET last_used = now(), expires_at = COALESCE(\(expiresAt), expires_at) WHERE id = \(id)")
    }

    /// Of `ids`, the keys that still authenticate: present, not expired, their user not suspended.
    static func live(_ ids: [String]) -> PostgresQuery<String> {
        PostgresQuery(
            """
            SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.id = ANY(\(ids)::text[]) AND k.expires_at > now() AND u.status <> 'suspended'
            """,
            column: "id"
        )
    }
}

import Foundation
import Postgres

extension Store {
    public func insertAPIKey(_ key: APIKey) async throws {
        try await pool.query(
            """
            INSERT INTO api_keys (id, hashed_secret, user_id, login_type, lifetime_seconds, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [key.id, PostgresBytes(key.hashedSecret), key.userID, key.loginType, key.lifetimeSeconds, key.expiresAt]
        )
    }

    public func apiKey(id: String) async throws -> APIKey? {
        try await pool.query(
            "SELECT id, hashed_secret, user_id, login_type, lifetime_seconds, expires_at, created_at, last_used FROM api_keys WHERE id = $1",
            [id]
        ).first.map { row in
            APIKey(
                id: try row.decode(0), hashedSecret: try row.decode(1, as: PostgresBytes.self).bytes,
                userID: try row.decode(2), loginType: try row.decode(3), lifetimeSeconds: try row.decode(4),
                expiresAt: try row.decode(5), createdAt: try row.decode(6), lastUsed: try row.decode(7)
            )
        }
    }

    public func deleteAPIKey(id: String) async throws {
        try await pool.query("DELETE FROM api_keys WHERE id = $1", [id])
    }

    /// Marks a key as used and, for session keys, slides its expiry forward by its lifetime.
    public func refreshAPIKey(id: String, extendTo expiresAt: Date?) async throws {
        try await pool.query(
            "UPDATE api_keys SET last_used = now(), expires_at = COALESCE($2, expires_at) WHERE id = $1",
            [id, expiresAt]
        )
    }
}

extension Store {
    /// Of `ids`, the keys that still authenticate: present, not expired, their user not suspended.
    /// One statement for every open WebSocket of a replica.
    public func liveAPIKeyIDs(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try await pool.query(
            """
            SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.id = ANY($1::text[]) AND k.expires_at > now() AND u.status <> 'suspended'
            """,
            [ids]
        ).rows.map { try $0.decode(0, as: String.self) })
    }
}

import Foundation
import Postgres

extension Store {
    /// Stores a new key and records `audit` (its creation: a login, a token) in the same
    /// transaction. The entry must not carry the key's secret or its hash.
    public func insertAPIKey(_ key: APIKey, audit: AuditEntry? = nil) async throws {
        guard let audit else {
            try await pool.execute(APIKeys.insert(key))
            return
        }
        try await pool.withTransaction { connection in
            try connection.execute(APIKeys.insert(key))
            try Self.recordAudit(audit, on: connection)
        }
    }

    public func apiKey(id: String) async throws -> APIKey? {
        try await pool.one(APIKeys.withID(id))
    }

    /// Deletes the key and returns it as it was (nil, and no audit row, if there was none);
    /// `audit` sees the deleted key and its row commits with the deletion.
    @discardableResult
    public func deleteAPIKey(id: String, audit: (@Sendable (APIKey) throws -> AuditEntry?)? = nil) async throws -> APIKey? {
        try await pool.withTransaction { connection in
            guard let key = try connection.one(APIKeys.delete(id: id)) else { return nil }
            try Self.recordAudit(try audit?(key), on: connection)
            return key
        }
    }

    /// Marks a key as used and, for session keys, slides its expiry forward by its lifetime.
    public func refreshAPIKey(id: String, extendTo expiresAt: Date?) async throws {
        try await pool.execute(APIKeys.refresh(id: id, extendTo: expiresAt))
    }

    /// Of `ids`, the keys that still authenticate: present, not expired, their user not suspended.
    /// One statement for every open WebSocket of a replica.
    public func liveAPIKeyIDs(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try await pool.all(APIKeys.live(ids)))
    }
}

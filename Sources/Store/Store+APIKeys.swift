import Foundation
import Postgres

extension Store {
    public func insertAPIKey(_ key: APIKey) async throws {
        try await pool.execute(APIKeys.insert(key))
    }

    public func apiKey(id: String) async throws -> APIKey? {
        try await pool.one(APIKeys.withID(id))
    }

    public func deleteAPIKey(id: String) async throws {
        try await pool.execute(APIKeys.delete(id: id))
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

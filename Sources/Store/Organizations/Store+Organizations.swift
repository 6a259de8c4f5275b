import Foundation
import Postgres

extension Store {
    public func organization(id: UUID) async throws -> Organization? {
        try await pool.one(Organizations.withID(id))
    }

    public func organization(name: String) async throws -> Organization? {
        try await pool.one(Organizations.withName(name))
    }

    public func defaultOrganization() async throws -> Organization? {
        try await pool.one(Organizations.theDefault)
    }

    public func organizations(userID: UUID) async throws -> [Organization] {
        try await pool.all(Organizations.ofMember(userID))
    }
}

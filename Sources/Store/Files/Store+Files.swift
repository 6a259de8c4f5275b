import Foundation
import Postgres

extension Store {
    /// Stores an upload once per (hash, uploader); returns the id of the stored file.
    public func insertFile(hash: String, createdBy: UUID, mimetype: String, data: [UInt8]) async throws -> UUID {
        guard let id = try await pool.one(Files.insert(hash: hash, createdBy: createdBy, mimetype: mimetype, data: data)) else {
            throw StoreError.notFound
        }
        return id
    }

    public func fileData(id: UUID) async throws -> (createdBy: UUID, mimetype: String, data: [UInt8])? {
        try await pool.one(Files.withID(id))
    }
}

import Foundation
import Postgres

extension Store {
    /// Stores an upload once per (hash, uploader); returns the id of the stored file.
    public func insertFile(hash: String, createdBy: UUID, mimetype: String, data: [UInt8]) async throws -> UUID {
        guard let row = try await pool.query(
            """
            INSERT INTO files (id, hash, created_by, mimetype, data) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (hash, created_by) DO UPDATE SET hash = EXCLUDED.hash
            RETURNING id
            """,
            [UUID(), hash, createdBy, mimetype, PostgresBytes(data)]
        ).first else { throw StoreError.notFound }
        return try row.decode(0)
    }

    public func fileData(id: UUID) async throws -> (createdBy: UUID, mimetype: String, data: [UInt8])? {
        try await pool.query("SELECT created_by, mimetype, data FROM files WHERE id = $1", [id]).first.map {
            (try $0.decode(0), try $0.decode(1), try $0.decode(2, as: PostgresBytes.self).bytes)
        }
    }
}

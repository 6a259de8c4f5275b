import Foundation
import Postgres

/// The `files` table's statements: uploaded archives, stored once per (hash, uploader).
enum Files {
    /// Returns the id of the stored file, the existing one's for a repeated upload.
    static func insert(hash: String, createdBy: UUID, mimetype: String, data: [UInt8]) -> PostgresQuery<UUID> {
        PostgresQuery(
            """
            INSERT INTO files (id, hash, created_by, mimetype, data) VALUES (\(UUID()), \(hash), \(createdBy), \(mimetype), \(PostgresBytes(data)))
            ON CONFLICT (hash, created_by) DO UPDATE SET hash = EXCLUDED.hash
            RETURNING id
            """,
            column: "id"
        )
    }

    static func withID(_ id: UUID) -> PostgresQuery<(createdBy: UUID, mimetype: String, data: [UInt8])> {
        PostgresQuery("SELECT created_by, mimetype, data FROM files WHERE id = \(id)") { row in
            (try row.decode("created_by"), try row.decode("mimetype"), try row.decode("data", as: PostgresBytes.self).bytes)
        }
    }
}

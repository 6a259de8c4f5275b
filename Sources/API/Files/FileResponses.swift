import Foundation

extension FilesController {
    /// `POST /files`: the stored file's id.
    struct UploadResponse: Encodable {
        /// Coder names the file id "hash" in this response.
        let hash: UUID
    }
}

import Crypto
import Foundation
import Hummingbird
import ProvisionerProtocol
import Store

/// `POST /api/v2/files`: a template archive, stored once per content.
struct FilesController: ResourceController {
    let store: Store
    /// What a daemon can be handed: see `ProvisionerLimits`.
    static let maximumFileSize = ProvisionerLimits.maxArchiveBytes

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.post("files", use: upload)
        return routes
    }

    @Sendable func upload(_ request: Request, _ context: SignedInContext) async throws -> Created<UploadResponse> {
        guard let contentType = request.headers[.contentType], ["application/x-tar", "application/zip"].contains(contentType) else {
            throw APIError(.badRequest, "Unsupported content type header \"\(request.headers[.contentType] ?? "")\".")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumFileSize)
        } catch {
            throw APIError(.contentTooLarge, "File is too large.", detail: "The limit is \(Self.maximumFileSize) bytes.")
        }
        let bytes = Array(body.readableBytesView)
        let hash = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return Created(UploadResponse(hash: try await store.insertFile(hash: hash, createdBy: context.subject.userID, mimetype: contentType, data: bytes)))
    }
}

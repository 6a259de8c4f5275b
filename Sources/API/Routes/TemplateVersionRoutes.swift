import Crypto
import Foundation
import Hummingbird
import ProvisionerProtocol
import Provisioning
import Store

/// Files and template versions: uploading a template archive and importing it (an import job).
struct TemplateVersionRoutes: Sendable {
    let store: Store
    /// What a daemon can be handed: see `ProvisionerLimits`.
    static let maximumFileSize = ProvisionerLimits.maxArchiveBytes

    struct CreateVersionRequest: Decodable {
        let name: String?
        let template_id: UUID?
        let storage_method: String?
        let file_id: UUID?
        let provisioner: String?
        let tags: [String: String]?
    }

    struct VersionJSON: Encodable {
        let id: UUID
        let template_id: UUID?
        let organization_id: UUID
        let created_at: Date
        let updated_at: Date
        let name: String
        let readme: String
        let created_by: UUID
        let job: ProvisionerJobJSON
    }

    func addAuthenticatedRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("files", use: upload)
        group.post("organizations/:organization/templateversions", use: createVersion)
        group.get("templateversions/:templateversion", use: getVersion)
        group.patch("templateversions/:templateversion/cancel", use: cancelVersion)
    }

    @Sendable func upload(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
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
        let id = try await store.insertFile(hash: hash, createdBy: subject.userID, mimetype: contentType, data: bytes)
        // Coder names the file id "hash" in this response.
        return try JSON.response(["hash": id.uuidString.lowercased()], status: .created)
    }

    @Sendable func createVersion(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let organization = try await context.organizationParameter(store)
        guard RBAC.can(subject, .create, .templates(organization: organization.id)) else { throw APIError.forbidden }
        let body = try await request.decodeJSON(as: CreateVersionRequest.self)
        var validator = Validator()
        if body.storage_method != "file" { validator.fail("storage_method", tag: "oneof", value: body.storage_method ?? "") }
        if body.file_id == nil { validator.fail("file_id", tag: "required", value: "") }
        let provisioner = body.provisioner ?? ""
        if !ProvisionerDaemonRoutes.knownProvisioners.contains(provisioner) { validator.fail("provisioner", tag: "oneof", value: provisioner) }
        do {
            try ProvisionerTagList.check(body.tags ?? [:])
        } catch {
            throw APIError.validationFailed([.init(field: "tags", detail: error.description)])
        }
        try validator.check()
        guard let file = try await store.fileData(id: body.file_id!), file.createdBy == subject.userID || subject.siteRoles.contains(Role.owner.rawValue) else {
            throw APIError(.notFound, "File not found.")
        }
        if let templateID = body.template_id {
            guard let template = try await store.template(id: templateID), template.organizationID == organization.id else {
                throw APIError(.notFound, "Template with ID \"\(templateID)\" not found.")
            }
        }
        let job = NewProvisionerJob(
            organizationID: organization.id, initiatorID: subject.userID, provisioner: provisioner, type: .templateVersionImport,
            fileID: body.file_id!, input: "{}", tags: ProvisionerTags.normalize(body.tags ?? [:], userID: subject.userID)
        )
        let name = body.name.flatMap { $0.isEmpty ? nil : $0 } ?? "version-\(Tokens.random(6).lowercased())"
        let version = try await store.createTemplateVersion(name: name, templateID: body.template_id, job: job)
        return try JSON.response(try await versionJSON(version), status: .created)
    }

    @Sendable func getVersion(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try JSON.response(try await versionJSON(try await readableVersion(context)))
    }

    @Sendable func cancelVersion(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let version = try await readableVersion(context)
        guard RBAC.can(subject, .update, .templates(organization: version.organizationID)) else { throw APIError.forbidden }
        guard let job = try await store.job(id: version.jobID), job.completedAt == nil, job.canceledAt == nil else {
            throw APIError(.badRequest, "Job has already completed or been canceled.")
        }
        _ = try await store.cancelJob(id: job.id)
        return try JSON.response(MessageJSON(message: "Job has been marked as canceled..."))
    }

    private func readableVersion(_ context: AppRequestContext) async throws -> TemplateVersion {
        let id = try context.uuidParameter("templateversion")
        guard let version = try await store.templateVersion(id: id),
              RBAC.can(try context.requireSubject(), .read, .templates(organization: version.organizationID))
        else { throw APIError.resourceNotFound }
        return version
    }

    private func versionJSON(_ version: TemplateVersion) async throws -> VersionJSON {
        guard let job = try await store.job(id: version.jobID) else { throw APIError.internalError("template version without its job") }
        return VersionJSON(
            id: version.id, template_id: version.templateID, organization_id: version.organizationID,
            created_at: version.createdAt, updated_at: version.updatedAt, name: version.name, readme: "",
            created_by: version.createdBy, job: try await ProvisionerJobJSON.make(job, store: store)
        )
    }
}

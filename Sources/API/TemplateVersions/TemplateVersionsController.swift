import Foundation
import Hummingbird
import ProvisionerProtocol
import Provisioning
import Store

/// Template versions: importing an uploaded archive (an import job), reading and canceling it.
/// A creation is audited (`template_version`, create).
struct TemplateVersionsController: ResourceController {
    let store: Store
    /// A version of a template is that template's: hidden with it, and changed by its ACL admins.
    let access: TemplateAccessChecker
    let audit: AuditRecorder

    /// What the audit log shows of a template version: the version and what its import job runs.
    struct AuditedVersion: Encodable {
        let id: UUID
        let template_id: UUID?
        let organization_id: UUID
        let name: String
        let created_by: UUID
        let created_at: Date
        let job_id: UUID
        let file_id: UUID
        let provisioner: String
        let tags: [String: String]

        init(_ version: TemplateVersion, job: NewProvisionerJob) {
            id = version.id
            template_id = version.templateID
            organization_id = version.organizationID
            name = version.name
            created_by = version.createdBy
            created_at = version.createdAt
            job_id = version.jobID
            file_id = job.fileID
            provisioner = job.provisioner
            tags = job.tags
        }
    }

    struct CreateVersionRequest: Decodable {
        let name: String?
        let templateID: UUID?
        let fileID: UUID
        let provisioner: String
        let tags: [String: String]

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            name = fields.optional("name")
            templateID = fields.optional("template_id")
            _ = fields.oneOf("storage_method", ["file"])
            fileID = fields.required("file_id")
            provisioner = fields.oneOf("provisioner", ProvisionerDaemonsController.knownProvisioners)
            tags = fields.optional("tags") ?? [:]
            try fields.check()
            do {
                try ProvisionerTagList.check(tags)
            } catch {
                throw APIError.validationFailed([.init(field: "tags", detail: error.description)])
            }
        }
    }

    struct VersionJSON: ResponseEncodable {
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

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: guards.authentication)
        routes.post("organizations/:organization/templateversions", use: createVersion)
        routes.get("templateversions/:templateversion") { _, context in
            try await versionJSON(try await context.load(.templateVersion(try context.uuidParameter("templateversion"), in: store, checker: access, context: context), for: .read).version)
        }
        routes.patch("templateversions/:templateversion/cancel", use: cancelVersion)
        return routes
    }

    @Sendable func createVersion(_ request: Request, _ context: AppRequestContext) async throws -> Created<VersionJSON> {
        let subject = try context.requireSubject()
        let organization = try await context.organizationParameter(store)
        let body = try await request.decode(as: CreateVersionRequest.self, context: context)
        if let templateID = body.templateID {
            // A new version of an existing template: its ACL admins may push one too.
            let lookup = try Lookup<AccessibleTemplate>.template(templateID, in: store, checker: access, context: context)
            guard let template = try await lookup.fetch(), template.template.organizationID == organization.id,
                  RBAC.can(subject, .read, lookup.resource(template))
            else {
                throw APIError(.notFound, "Template with ID \"\(templateID)\" not found.")
            }
            try context.authorize(.update, lookup.resource(template))
        } else {
            try context.authorize(.create, .templates(organization: organization.id))
        }
        guard let file = try await store.fileData(id: body.fileID), file.createdBy == subject.userID || subject.siteRoles.contains(Role.owner.rawValue) else {
            throw APIError(.notFound, "File not found.")
        }
        let job = NewProvisionerJob(
            organizationID: organization.id, initiatorID: subject.userID, provisioner: body.provisioner, type: .templateVersionImport,
            fileID: body.fileID, input: "{}", tags: ProvisionerTags.normalize(body.tags, userID: subject.userID)
        )
        let name = body.name.flatMap { $0.isEmpty ? nil : $0 } ?? "version-\(Tokens.random(6).lowercased())"
        let audit = self.audit
        let version = try await store.createTemplateVersion(name: name, templateID: body.templateID, job: job) { created in
            try audit.entry(
                request, context, resourceType: .templateVersion, resourceID: created.id, target: created.name, action: .create,
                new: AuditedVersion(created, job: job), organizationID: created.organizationID, status: .created
            )
        }
        return Created(try await versionJSON(version))
    }

    @Sendable func cancelVersion(_ request: Request, _ context: AppRequestContext) async throws -> MessageJSON {
        let version = try await context.load(.templateVersion(try context.uuidParameter("templateversion"), in: store, checker: access, context: context), for: .update).version
        return try await JobCancellation.cancel(jobID: version.jobID, in: store)
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

/// A template version and what the caller may do with its template (nil: it has none yet).
struct AccessibleTemplateVersion: Sendable {
    let version: TemplateVersion
    let access: TemplateAccess?
}

extension Lookup where Value == AccessibleTemplateVersion {
    static func templateVersion(_ id: UUID, in store: Store, checker: TemplateAccessChecker, context: AppRequestContext) throws -> Lookup {
        let subject = try context.requireSubject()
        return Lookup(
            fetch: {
                guard let version = try await store.templateVersion(id: id) else { return nil }
                guard let templateID = version.templateID, let template = try await store.template(id: templateID) else {
                    return AccessibleTemplateVersion(version: version, access: nil)
                }
                return AccessibleTemplateVersion(version: version, access: try await checker.access(subject, to: template))
            },
            resource: { found in
                found.access.map { .template(organization: found.version.organizationID, access: $0) } ?? .templates(organization: found.version.organizationID)
            }
        )
    }
}

/// Canceling the job behind a template version or a workspace build: Coder's answers.
enum JobCancellation {
    static func cancel(jobID: UUID, in store: Store) async throws -> MessageJSON {
        guard let job = try await store.job(id: jobID), job.completedAt == nil, job.canceledAt == nil else {
            throw APIError(.badRequest, "Job has already completed or been canceled.")
        }
        _ = try await store.cancelJob(id: job.id)
        return MessageJSON(message: "Job has been marked as canceled...")
    }
}

import Foundation
import Hummingbird
import Provisioning
import Store

/// Template versions: importing an uploaded archive (an import job), reading it and the
/// resources its import found, canceling it.
/// A creation is audited (`template_version`, create). The JSON is in `TemplateVersionJSON.swift`,
/// the request bodies in `TemplateVersionRequests.swift`, the lookup in `TemplateVersionAccess.swift`.
struct TemplateVersionsController: ResourceController {
    let store: Store
    /// A version of a template is that template's: hidden with it, and changed by its ACL admins.
    let access: TemplateAccessChecker

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.post("organizations/:organization/templateversions", use: createVersion)
        signedIn.get("templateversions/:templateversion") { _, context in
            try await VersionJSON.make(try await context.load(.templateVersion(try context.uuidParameter("templateversion"), in: store, checker: access, context: context), for: .read).version, store: store)
        }
        signedIn.get("templateversions/:templateversion/resources") { _, context in
            let version = try await context.load(.templateVersion(try context.uuidParameter("templateversion"), in: store, checker: access, context: context), for: .read).version
            return try await JobResources.of(jobID: version.jobID, in: store)
        }
        signedIn.patch("templateversions/:templateversion/cancel", use: cancelVersion)
        signedIn.get("templateversions/:templateversion/variables") { _, context in
            let version = try await context.load(.templateVersion(try context.uuidParameter("templateversion"), in: store, checker: access, context: context), for: .read).version
            guard let job = try await store.job(id: version.jobID), job.completedAt != nil else {
                throw APIError(.preconditionFailed, "Job hasn't completed!")
            }
            return try await store.variables(templateVersionID: version.id).map(TemplateVersionVariableJSON.init)
        }
        return routes
    }

    @Sendable func createVersion(_ request: Request, _ context: SignedInContext) async throws -> Created<VersionJSON> {
        let subject = context.subject
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
            fileID: body.fileID, input: Self.jobInput(body.variableValues), tags: ProvisionerTags.normalize(body.tags, userID: subject.userID)
        )
        let name = body.name.flatMap { $0.isEmpty ? nil : $0 } ?? "version-\(Tokens.random(6).lowercased())"
        let audit = context.audit
        let version = try await store.createTemplateVersion(name: name, templateID: body.templateID, job: job) { created in
            try audit.record(
                .templateVersion, id: created.id, target: created.name, action: .create,
                new: AuditedVersion(created, job: job), organization: created.organizationID, status: .created
            )
        }
        return Created(try await VersionJSON.make(version, store: store))
    }

    @Sendable func cancelVersion(_ request: Request, _ context: SignedInContext) async throws -> MessageJSON {
        let version = try await context.load(.templateVersion(try context.uuidParameter("templateversion"), in: store, checker: access, context: context), for: .update).version
        return try await JobCancellation.cancel(jobID: version.jobID, in: store)
    }
}

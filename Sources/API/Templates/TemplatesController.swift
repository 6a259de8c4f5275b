import Foundation
import Hummingbird
import Store

/// Templates of an organization: created from a version whose import succeeded. A creation is
/// audited (`template`, create), with the template's first ACL. The JSON is in `TemplateJSON.swift`,
/// the request bodies in `TemplateRequests.swift`.
struct TemplatesController: ResourceController {
    let store: Store
    let access: TemplateAccessChecker

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.post("organizations/:organization/templates", use: createTemplate)
        signedIn.get("organizations/:organization/templates") { _, context in
            let organization = try await context.organizationParameter(store)
            try context.authorize(.read, .templates(organization: organization.id))
            let templates = try await store.templates(organizationID: organization.id)
            return try await access.visible(templates, to: context.subject, organizationID: organization.id).map(TemplateJSON.init)
        }
        signedIn.get("templates/:template") { _, context in
            let id = try context.uuidParameter("template")
            return TemplateJSON(try await context.load(.template(id, in: store, checker: access, context: context), for: .read).template)
        }
        return routes
    }

    @Sendable func createTemplate(_ request: Request, _ context: SignedInContext) async throws -> Created<TemplateJSON> {
        let subject = context.subject
        let organization = try await context.organizationParameter(store)
        try context.authorize(.create, .templates(organization: organization.id))
        let body = try await request.decode(as: CreateTemplateRequest.self, context: context)
        guard let version = try await store.templateVersion(id: body.versionID), version.organizationID == organization.id else {
            throw APIError(.notFound, "Template version \"\(body.versionID)\" not found.")
        }
        guard let job = try await store.job(id: version.jobID), job.status == "succeeded" else {
            throw APIError(.badRequest, "The template version's import job has not succeeded.")
        }
        let audit = context.audit
        do {
            let template = try await store.createTemplate(
                organizationID: organization.id, name: body.name, displayName: body.displayName, description: body.description,
                versionID: version.id, provisioner: job.provisioner, createdBy: subject.userID,
                everyoneAccess: !body.disableEveryoneGroupAccess
            ) { created in
                try audit.record(
                    .template, id: created.id, target: created.name, action: .create,
                    new: AuditedTemplate(created), organization: created.organizationID, status: .created
                )
            }
            return Created(TemplateJSON(template))
        } catch StoreError.conflict {
            // The Store's conflict in this resource's words (Coder's).
            throw APIError(.conflict, "Template with name \"\(body.name)\" already exists.", validations: [.init(field: "name", detail: "This value is already in use and should be unique.")])
        }
    }
}

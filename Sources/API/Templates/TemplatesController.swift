import Foundation
import Hummingbird
import Store

/// Templates of an organization: created from a version whose import succeeded. A creation is
/// audited (`template`, create), with the template's first ACL.
struct TemplatesController: ResourceController {
    let store: Store
    let access: TemplateAccessChecker
    let audit: AuditRecorder

    /// What the audit log shows of a template: the template as the API writes it and its ACL.
    struct AuditedTemplate: Encodable {
        let template: TemplateJSON
        let acl: TemplateACLController.AuditedACL

        init(_ template: Template) {
            self.template = TemplateJSON(template)
            acl = TemplateACLController.AuditedACL(template)
        }

        func encode(to encoder: any Encoder) throws {
            try template.encode(to: encoder)
            try acl.encode(to: encoder)
        }
    }

    struct CreateTemplateRequest: Decodable {
        let name: String
        let displayName: String
        let description: String
        let versionID: UUID
        /// Coder's: the new template's ACL does not give its organization's Everyone `use`.
        let disableEveryoneGroupAccess: Bool

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            name = fields.username("name")
            displayName = fields.optional("display_name") ?? ""
            description = fields.optional("description") ?? ""
            versionID = fields.required("template_version_id")
            disableEveryoneGroupAccess = fields.optional("disable_everyone_group_access") ?? false
            try fields.check()
        }
    }

    struct TemplateJSON: ResponseEncodable {
        let id: UUID
        let created_at: Date
        let updated_at: Date
        let organization_id: UUID
        let name: String
        let display_name: String
        let description: String
        let provisioner: String
        let active_version_id: UUID
        let created_by_id: UUID

        init(_ template: Template) {
            id = template.id
            created_at = template.createdAt
            updated_at = template.updatedAt
            organization_id = template.organizationID
            name = template.name
            display_name = template.displayName
            description = template.description
            provisioner = template.provisioner
            active_version_id = template.activeVersionID
            created_by_id = template.createdBy
        }
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.add(middleware: guards.authentication)
        routes.post("organizations/:organization/templates", use: createTemplate)
        routes.get("organizations/:organization/templates") { _, context in
            let organization = try await context.organizationParameter(store)
            try context.authorize(.read, .templates(organization: organization.id))
            let templates = try await store.templates(organizationID: organization.id)
            return try await access.visible(templates, to: try context.requireSubject(), organizationID: organization.id).map(TemplateJSON.init)
        }
        routes.get("templates/:template") { _, context in
            let id = try context.uuidParameter("template")
            return TemplateJSON(try await context.load(.template(id, in: store, checker: access, context: context), for: .read).template)
        }
        return routes
    }

    @Sendable func createTemplate(_ request: Request, _ context: AppRequestContext) async throws -> Created<TemplateJSON> {
        let subject = try context.requireSubject()
        let organization = try await context.organizationParameter(store)
        try context.authorize(.create, .templates(organization: organization.id))
        let body = try await request.decode(as: CreateTemplateRequest.self, context: context)
        guard let version = try await store.templateVersion(id: body.versionID), version.organizationID == organization.id else {
            throw APIError(.notFound, "Template version \"\(body.versionID)\" not found.")
        }
        guard let job = try await store.job(id: version.jobID), job.status == "succeeded" else {
            throw APIError(.badRequest, "The template version's import job has not succeeded.")
        }
        let audit = self.audit
        do {
            let template = try await store.createTemplate(
                organizationID: organization.id, name: body.name, displayName: body.displayName, description: body.description,
                versionID: version.id, provisioner: job.provisioner, createdBy: subject.userID,
                everyoneAccess: !body.disableEveryoneGroupAccess
            ) { created in
                try audit.entry(
                    request, context, resourceType: .template, resourceID: created.id, target: created.name, action: .create,
                    new: AuditedTemplate(created), organizationID: created.organizationID, status: .created
                )
            }
            return Created(TemplateJSON(template))
        } catch StoreError.conflict {
            throw APIError(.conflict, "Template with name \"\(body.name)\" already exists.", validations: [.init(field: "name", detail: "This value is already in use and should be unique.")])
        }
    }
}

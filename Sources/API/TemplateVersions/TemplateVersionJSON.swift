import Foundation
import Hummingbird
import ProvisionerProtocol
import Store

extension TemplateVersionsController {
    /// A template version as Coder's `codersdk.TemplateVersion` shapes it, with its import job.
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

        static func make(_ version: TemplateVersion, store: Store) async throws -> VersionJSON {
            guard let job = try await store.job(id: version.jobID) else { throw APIError.internalError("template version without its job") }
            return VersionJSON(
                id: version.id, template_id: version.templateID, organization_id: version.organizationID,
                created_at: version.createdAt, updated_at: version.updatedAt, name: version.name, readme: "",
                created_by: version.createdBy, job: try await ProvisionerJobJSON.make(job, store: store)
            )
        }
    }

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
}

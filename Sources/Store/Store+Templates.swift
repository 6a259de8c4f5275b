import Foundation
import Postgres

extension Store {
    /// A template version and its import job, announced to the daemons.
    public func createTemplateVersion(id: UUID = UUID(), name: String, templateID: UUID?, job: NewProvisionerJob) async throws -> TemplateVersion {
        try await pool.withTransaction { connection in
            try Self.insertJob(job, on: connection)
            guard let version = try connection.one(TemplateVersions.insert(id: id, name: name, templateID: templateID, job: job)) else {
                throw StoreError.notFound
            }
            return version
        }
    }

    public func templateVersion(id: UUID) async throws -> TemplateVersion? {
        try await pool.one(TemplateVersions.withID(id))
    }

    public func createTemplate(organizationID: UUID, name: String, displayName: String, description: String, versionID: UUID, provisioner: String, createdBy: UUID) async throws -> Template {
        try await mappingConflicts(Templates.constraintFields) {
            try await pool.withTransaction { connection in
                guard let template = try connection.one(Templates.insert(
                    id: UUID(), organizationID: organizationID, name: name, displayName: displayName, description: description,
                    provisioner: provisioner, activeVersionID: versionID, createdBy: createdBy
                )) else { throw StoreError.notFound }
                try connection.execute(TemplateVersions.adopt(versionID: versionID, templateID: template.id))
                return template
            }
        }
    }

    public func template(id: UUID) async throws -> Template? {
        try await pool.one(Templates.withID(id))
    }

    public func templates(organizationID: UUID) async throws -> [Template] {
        try await pool.all(Templates.ofOrganization(organizationID))
    }
}

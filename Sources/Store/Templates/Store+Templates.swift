import Foundation
import Postgres

extension Store {
    /// A template version and its import job, announced to the daemons; `audit` sees the new
    /// version and its row commits with it.
    public func createTemplateVersion(
        id: UUID = UUID(), name: String, templateID: UUID?, job: NewProvisionerJob,
        audit: (@Sendable (TemplateVersion) throws -> AuditEntry?)? = nil
    ) async throws -> TemplateVersion {
        try await pool.withTransaction { connection in
            try Self.insertJob(job, on: connection)
            guard let version = try connection.one(TemplateVersions.insert(id: id, name: name, templateID: templateID, job: job)) else {
                throw StoreError.notFound
            }
            try Self.recordAudit(try audit?(version), on: connection)
            return version
        }
    }

    public func templateVersion(id: UUID) async throws -> TemplateVersion? {
        try await pool.one(TemplateVersions.withID(id))
    }

    /// A new template; unless `everyoneAccess` is false, its organization's Everyone group may
    /// use it (Coder's default ACL). `audit` sees the new template and its row commits with it;
    /// a taken name is `.conflict` and leaves no row.
    public func createTemplate(
        organizationID: UUID, name: String, displayName: String, description: String, versionID: UUID, provisioner: String, createdBy: UUID,
        everyoneAccess: Bool = true, audit: (@Sendable (Template) throws -> AuditEntry?)? = nil
    ) async throws -> Template {
        let insert = try Templates.insert(
            id: UUID(), organizationID: organizationID, name: name, displayName: displayName, description: description,
            provisioner: provisioner, activeVersionID: versionID, createdBy: createdBy,
            groupACL: everyoneAccess ? [organizationID: .use] : [:]
        )
        return try await mappingConflicts(Templates.constraintFields) {
            try await pool.withTransaction { connection in
                guard let template = try connection.one(insert) else { throw StoreError.notFound }
                try connection.execute(TemplateVersions.adopt(versionID: versionID, templateID: template.id))
                try Self.recordAudit(try audit?(template), on: connection)
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

    /// Which of the ids name no user, and which no group of the organization.
    public func unknownACLSubjects(users: [UUID], groups: [UUID], organizationID: UUID) async throws -> (users: [UUID], groups: [UUID]) {
        try await pool.withConnection { connection in
            let knownUsers = Set(try await connection.all(Templates.existingUsers(users)))
            let knownGroups = Set(try await connection.all(Templates.existingGroups(groups, organizationID: organizationID)))
            return (users.filter { !knownUsers.contains($0) }, groups.filter { !knownGroups.contains($0) })
        }
    }

    /// Merges `users` and `groups` into the template's ACL (nil removes an entry), in one
    /// transaction with the template locked; `audit` sees it before and after.
    public func updateTemplateACL(
        templateID: UUID, users: [UUID: TemplateRole?], groups: [UUID: TemplateRole?],
        audit: (@Sendable (_ old: Template, _ new: Template) throws -> AuditEntry?)? = nil
    ) async throws -> Template {
        try await pool.withTransaction { connection in
            guard let before = try connection.one(Templates.withID(templateID, forUpdate: true)) else { throw StoreError.notFound }
            var userACL = before.userACL, groupACL = before.groupACL
            for (id, role) in users { userACL[id] = role }
            for (id, role) in groups { groupACL[id] = role }
            try connection.execute(try Templates.setACL(templateID, users: userACL, groups: groupACL))
            guard let after = try connection.one(Templates.withID(templateID)) else { throw StoreError.notFound }
            try Self.recordAudit(try audit?(before, after), on: connection)
            return after
        }
    }
}

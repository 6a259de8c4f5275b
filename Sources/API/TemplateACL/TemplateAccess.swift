import Foundation
import Licensing
import Store

/// What a caller may do with one template under its ACL.
public enum TemplateAccess: Sendable, Equatable {
    /// ACLs are not enforced (`template_rbac` off), or the caller sees every template (owners,
    /// template admins): the organization rule alone decides.
    case unrestricted
    /// The best role the caller holds through their own entry, a group's, or Everyone's; nil
    /// for none (the template does not exist for them).
    case role(TemplateRole?)

    /// The best of a user's own entry and their groups' entries.
    static func role(of userID: UUID, inGroups groupIDs: Set<UUID>, in template: Template) -> TemplateRole? {
        let roles = [template.userACL[userID]] + groupIDs.map { template.groupACL[$0] }
        if roles.contains(.admin) { return .admin }
        return roles.contains(.use) ? .use : nil
    }
}

/// Decides `TemplateAccess` for a caller, reading their group memberships only when the ACL
/// can make a difference.
struct TemplateAccessChecker: Sendable {
    let store: Store
    let features: any FeatureProvider

    func access(_ subject: Subject, to template: Template) async throws -> TemplateAccess {
        guard enforced(for: subject) else { return .unrestricted }
        // Checked without a query where the user's own entry already says admin.
        if template.userACL[subject.userID] == .admin { return .role(.admin) }
        let groups = try await store.groupIDs(ofUser: subject.userID, organizationID: template.organizationID)
        return .role(TemplateAccess.role(of: subject.userID, inGroups: groups, in: template))
    }

    /// The templates of one organization the caller may see, with one membership query.
    func visible(_ templates: [Template], to subject: Subject, organizationID: UUID) async throws -> [Template] {
        guard enforced(for: subject) else { return templates }
        let groups = try await store.groupIDs(ofUser: subject.userID, organizationID: organizationID)
        return templates.filter { TemplateAccess.role(of: subject.userID, inGroups: groups, in: $0) != nil }
    }

    private func enforced(for subject: Subject) -> Bool {
        features.isEnabled(.templateRBAC)
            && !subject.siteRoles.contains(Role.owner.rawValue) && !subject.siteRoles.contains(Role.templateAdmin.rawValue)
    }
}

/// A template and what the caller may do with it.
struct AccessibleTemplate: Sendable {
    let template: Template
    let access: TemplateAccess
}

extension Lookup where Value == AccessibleTemplate {
    static func template(_ id: UUID, in store: Store, checker: TemplateAccessChecker, context: SignedInContext) -> Lookup {
        let subject = context.subject
        return Lookup(
            fetch: {
                guard let template = try await store.template(id: id) else { return nil }
                return AccessibleTemplate(template: template, access: try await checker.access(subject, to: template))
            },
            resource: { .template(organization: $0.template.organizationID, access: $0.access) }
        )
    }
}

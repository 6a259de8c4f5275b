import Foundation
import Store

/// A template version and what the caller may do with its template (nil: it has none yet).
struct AccessibleTemplateVersion: Sendable {
    let version: TemplateVersion
    let access: TemplateAccess?
}

extension Lookup where Value == AccessibleTemplateVersion {
    /// A version is its template's: hidden with it, and changed by its ACL admins; one with no
    /// template yet is judged as the organization's templates.
    static func templateVersion(_ id: UUID, in store: Store, checker: TemplateAccessChecker, context: SignedInContext) -> Lookup {
        let subject = context.subject
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

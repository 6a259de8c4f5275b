import Foundation
import Hummingbird
import Store

extension GroupsController {
    /// The query of `GET /groups`: `organization` and `has_member`, each an id or a name, each
    /// optional (an empty one is not given).
    struct GroupListQuery: Sendable {
        /// The parameters as given.
        let rawOrganization: String?
        let rawHasMember: String?

        init(_ query: Parameters) {
            rawOrganization = query["organization"].map(String.init)
            rawHasMember = query["has_member"].map(String.init)
        }

        /// The filter for `subject`. An organization they may not read is answered as one that
        /// does not exist, and every unknown value is named in one 400; without `organization`,
        /// the organizations `subject` may read groups of (`RBAC.scope`).
        func filter(for subject: Subject, store: Store) async throws -> GroupFilter {
            var filter = GroupFilter()
            var validations: [APIError.Validation] = []
            if let raw = rawOrganization, !raw.isEmpty {
                let organization = if let id = UUID(uuidString: raw) { try await store.organization(id: id) } else { try await store.organization(name: raw) }
                if let organization, RBAC.can(subject, .read, .groups(organization: organization.id)) {
                    filter.organizationID = organization.id
                } else {
                    validations.append(.init(field: "organization", detail: "organization \"\(raw)\" not found"))
                }
            }
            if let raw = rawHasMember, !raw.isEmpty {
                let user = if let id = UUID(uuidString: raw) { try await store.user(id: id) } else { try await store.user(username: raw) }
                if let user { filter.hasMember = user.id } else { validations.append(.init(field: "has_member", detail: "user \"\(raw)\" not found")) }
            }
            guard validations.isEmpty else { throw APIError(.badRequest, "Query parameters have invalid values.", validations: validations) }
            if filter.organizationID == nil, case .organizations(let ids) = RBAC.scope(subject, reading: .groups) {
                filter.organizationIDs = ids
            }
            return filter
        }
    }
}

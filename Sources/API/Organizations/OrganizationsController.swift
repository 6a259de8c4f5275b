import Foundation
import Hummingbird
import Store

/// `GET /api/v2/organizations/{organization}`.
struct OrganizationsController: ResourceController {
    let store: Store

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("organizations/:organization") { _, context in
            OrganizationJSON(try await context.organizationParameter(store))
        }
        return routes
    }
}

extension Lookup where Value == Organization {
    static func organization(_ id: UUID, in store: Store) -> Lookup {
        Lookup(fetch: { try await store.organization(id: id) }, resource: { .organization(id: $0.id) })
    }
}

extension SignedInContext {
    /// `{organization}` by uuid; 404 unless the caller may read it.
    func organizationParameter(_ store: Store, name: String = "organization") async throws -> Organization {
        try await load(.organization(try uuidParameter(name), in: store), for: .read)
    }
}

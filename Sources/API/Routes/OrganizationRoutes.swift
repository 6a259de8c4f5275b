import Hummingbird
import Store

struct OrganizationRoutes {
    let store: Store

    func addAuthenticatedRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("organizations/:organization") { _, context in
            try JSON.response(OrganizationJSON(try await context.organizationParameter(store)))
        }
    }
}

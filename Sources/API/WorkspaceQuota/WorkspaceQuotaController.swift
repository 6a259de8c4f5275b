import Foundation
import Hummingbird
import Licensing
import Store

/// A user's workspace quota: `GET /workspace-quota/{user}` (their default organization, the seed's
/// route) and Coder's newer `GET /organizations/{organization}/members/{user}/workspace-quota`.
/// Not feature-gated: without template RBAC the budget is −1 (no groups, so no allowance), as
/// in Coder. Builds are held to it by the daemons' `commit_quota` (`Store.commitQuota`).
struct WorkspaceQuotaController: ResourceController {
    let store: Store
    let features: any FeatureProvider

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("workspace-quota/:user") { _, context in
            let user = try await context.load(.workspaceQuota(context, in: store), for: .read)
            // The deployment's default organization, as Coder's newer route redirects to.
            guard let organization = try await store.defaultOrganization() else { throw APIError.resourceNotFound }
            return try await quota(user, organizationID: organization.id)
        }
        signedIn.get("organizations/:organization/members/:user/workspace-quota") { _, context in
            let organization = try await context.organizationParameter(store)
            let user = try await context.load(.workspaceQuota(context, in: store), for: .read)
            return try await quota(user, organizationID: organization.id)
        }
        return routes
    }

    private func quota(_ user: User, organizationID: UUID) async throws -> QuotaJSON {
        let quota = try await store.quota(userID: user.id, organizationID: organizationID)
        // Without template RBAC there are no groups to allow anything: −1, and no explanation.
        let enabled = features.isEnabled(.templateRBAC)
        return QuotaJSON(
            credits_consumed: quota.creditsConsumed,
            budget: enabled ? quota.budget : -1,
            allowances: enabled ? quota.allowances.map { .init(group_id: $0.groupID, group_name: $0.groupName, quota_allowance: $0.quotaAllowance) } : []
        )
    }
}

extension Lookup where Value == User {
    /// `{user}` (id, username or `me`) as the subject of a quota: readable by that user, user
    /// admins and owners; others get 404, as if the user did not exist.
    static func workspaceQuota(_ context: SignedInContext, in store: Store) -> Lookup {
        Lookup(fetch: Lookup.user(context, in: store).fetch, resource: { .workspaceQuota(user: $0.id) })
    }
}

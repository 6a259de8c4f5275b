import Foundation
import Hummingbird
import Store

/// The audit log (Coder's `GET /api/v2/audit`): owners and auditors read it, newest first,
/// filtered by Coder's search syntax (`AuditSearch`) and paged. It is not behind the
/// `audit_log` feature gate, as in Coder: the feature decides whether rows are written
/// (`AuditRecorder`), and what was written stays readable.
struct AuditController: ResourceController {
    let store: Store

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("audit", use: auditLogs)
        return routes
    }

    @Sendable func auditLogs(_ request: Request, _ context: SignedInContext) async throws -> AuditLogsResponse {
        // Coder answers a refused read of the audit log with 403, not the usual 404: that there
        // is an audit log is no secret.
        guard RBAC.can(context.subject, .read, .auditLog) else { throw APIError.forbidden }
        var search = AuditSearch(request.uri.queryParameters["q"].map(String.init) ?? "")
        if let error = search.error { throw error }
        let page = try request.page()
        if let name = search.organizationName {
            guard let organization = try await store.organization(name: name) else { throw AuditSearch.unknownOrganization(name) }
            search.filter.organizationID = organization.id
        }
        let (logs, count) = try await store.auditLogs(filter: search.filter, page: page)
        return AuditLogsResponse(audit_logs: logs.map(AuditLogJSON.init), count: count)
    }
}

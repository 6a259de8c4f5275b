import Foundation
import Hummingbird
import Provisioning
import Store
import WireFormat

/// Workspaces and starting their builds: what turns into workspace-build jobs; listing them
/// (Coder's search, `WorkspaceSearch.swift`) and a workspace's builds. Creating a
/// workspace is audited (`workspace`, create, and its first build's row), and so is every
/// build (`workspace_build`, create; the transition is in the diff). A build's target is its
/// workspace's name, with Coder's additional fields (`workspace_name`, `build_number`,
/// `build_reason`). The JSON is in `WorkspaceJSON.swift`, the request bodies in
/// `WorkspaceRequests.swift`, the audit snapshots in `WorkspaceAudit.swift`.
struct WorkspacesController: ResourceController {
    let store: Store
    let access: TemplateAccessChecker

    /// The job of a workspace build (every transition): the template version's archive and
    /// provisioner, with the version's tags made the workspace owner's (`ProvisionerTags.forBuild`),
    /// whoever starts, stops or deletes it: a user-scoped version's build waits for its owner's daemon.
    static func buildJob(organizationID: UUID, initiatorID: UUID, template: Template, versionJob: ProvisionerJob, ownerID: UUID) -> NewProvisionerJob {
        NewProvisionerJob(
            organizationID: organizationID, initiatorID: initiatorID, provisioner: template.provisioner,
            type: .workspaceBuild, fileID: versionJob.fileID, input: "{}",
            tags: ProvisionerTags.forBuild(versionTags: versionJob.tags, workspaceOwnerID: ownerID)
        )
    }

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.post("organizations/:organization/members/:user/workspaces", use: createWorkspace)
        signedIn.get("workspaces", use: listWorkspaces)
        signedIn.get("workspaces/:workspace") { _, context in
            try await WorkspaceJSON.make(try await context.load(.workspace(try context.uuidParameter("workspace"), in: store), for: .read), store: store)
        }
        signedIn.get("workspaces/:workspace/builds", use: listBuilds)
        signedIn.post("workspaces/:workspace/builds", use: createBuild)
        return routes
    }

    /// `GET /workspaces`: the workspaces the caller may read (`RBAC.scope`), never deleted ones,
    /// narrowed by `q` (`WorkspaceSearch`), one page (`limit`, `offset`), and how many match.
    @Sendable func listWorkspaces(_ request: Request, _ context: SignedInContext) async throws -> WorkspacesResponse {
        let subject = context.subject
        let search = WorkspaceSearch(request.uri.queryParameters["q"].map(String.init) ?? "", callerID: subject.userID)
        if let error = search.error { throw error }
        let page = try request.page()
        var filter = search.filter
        switch RBAC.scope(subject, reading: .workspaces) {
        case .all: break
        case .organizations(let organizations): filter.organizationIDs = organizations
        case .own: filter.visibleOwnerID = subject.userID
        }
        let (workspaces, count) = try await store.workspaces(filter: filter, page: page)
        // Coder answers an empty page (none match, or the offset is past them) before it counts.
        guard !workspaces.isEmpty else { return WorkspacesResponse(workspaces: [], count: 0) }
        var listed: [WorkspaceJSON] = []
        for workspace in workspaces {
            listed.append(try await WorkspaceJSON.make(workspace, store: store))
        }
        return WorkspacesResponse(workspaces: listed, count: count)
    }

    /// `GET /workspaces/{workspace}/builds`: newest first (by build number), one page (`limit`,
    /// `offset`), after the build `after_id` names (a number above its; one that names no build
    /// is a 400), created after `since` (RFC 3339). A deleted workspace's builds stay listed, as
    /// in Coder.
    @Sendable func listBuilds(_ request: Request, _ context: SignedInContext) async throws -> [BuildJSON] {
        let workspace = try await context.load(.workspace(try context.uuidParameter("workspace"), in: store, includingDeleted: true), for: .read)
        let page = try request.page()
        var since: Date?
        if let raw = request.uri.queryParameters["since"].map(String.init), !raw.isEmpty {
            guard let date = RFC3339.date(from: raw) else {
                throw APIError(.badRequest, "bad `since` format, must be RFC3339", detail: "parsing time \"\(raw)\" as \"2006-01-02T15:04:05Z07:00\": not an RFC 3339 time")
            }
            since = date
        }
        var afterBuildNumber: Int32?
        if let afterID = page.afterID {
            // Any build: Coder checks only that the id names one.
            guard let after = try await store.build(id: afterID) else {
                throw APIError(.badRequest, "Record at \"after_id\" (\"\(afterID.uuidString.lowercased())\") does not exist.")
            }
            afterBuildNumber = after.buildNumber
        }
        var builds: [BuildJSON] = []
        for build in try await store.builds(workspaceID: workspace.id, afterBuildNumber: afterBuildNumber, since: since, page: page) {
            builds.append(try await BuildJSON.make(build, store: store))
        }
        return builds
    }

    @Sendable func createWorkspace(_ request: Request, _ context: SignedInContext) async throws -> Created<WorkspaceJSON> {
        let subject = context.subject
        let organization = try await context.organizationParameter(store)
        let owner = try await context.userParameter(store)
        try context.authorize(.create, .workspace(owner: owner.id, organization: organization.id))
        let body = try await request.decode(as: CreateWorkspaceRequest.self, context: context)
        // A template the caller may not use (its ACL) is as missing as one that does not exist.
        let lookup = try Lookup.template(body.templateID, in: store, checker: access, context: context)
        guard let found = try await lookup.fetch(), found.template.organizationID == organization.id,
              RBAC.can(subject, .read, lookup.resource(found))
        else {
            throw APIError(.notFound, "Template with ID \"\(body.templateID)\" not found.")
        }
        let template = found.template
        let (version, versionJob) = try await activeVersion(of: template)
        let job = Self.buildJob(organizationID: organization.id, initiatorID: subject.userID, template: template, versionJob: versionJob, ownerID: owner.id)
        let audit = context.audit
        do {
            let (workspace, _) = try await store.createWorkspace(
                ownerID: owner.id, organizationID: organization.id, templateID: template.id, versionID: version.id, name: body.name, job: job
            ) { created, build in
                let workspaceRow = try audit.record(
                    .workspace, id: created.id, target: created.name, action: .create,
                    new: AuditedWorkspace(created), organization: created.organizationID, status: .created
                )
                let buildRow = try Self.buildEntry(audit, build: build, workspaceName: created.name, organizationID: created.organizationID)
                return [workspaceRow, buildRow].compactMap { $0 }
            }
            return Created(try await WorkspaceJSON.make(workspace, store: store))
        } catch StoreError.conflict {
            // The Store's conflict in this resource's words (Coder's).
            throw APIError(.conflict, "Workspace \"\(body.name)\" already exists.", validations: [.init(field: "name", detail: "This value is already in use and should be unique.")])
        }
    }

    @Sendable func createBuild(_ request: Request, _ context: SignedInContext) async throws -> Created<BuildJSON> {
        let subject = context.subject
        let workspace = try await context.load(.workspace(try context.uuidParameter("workspace"), in: store), for: .update)
        let body = try await request.decode(as: CreateBuildRequest.self, context: context)
        guard let found = try await Lookup.template(workspace.templateID, in: store, checker: access, context: context).fetch() else {
            throw APIError.internalError("the workspace's template is missing")
        }
        // Starting or stopping needs the template: a member whose access was taken away cannot
        // build again, but may still delete what they own.
        guard body.transition == "delete" || RBAC.can(subject, .read, .template(organization: found.template.organizationID, access: found.access)) else {
            throw APIError(.forbidden, "You may no longer use this workspace's template.")
        }
        let template = found.template
        let (version, versionJob) = try await activeVersion(of: template)
        let job = Self.buildJob(
            organizationID: workspace.organizationID, initiatorID: subject.userID, template: template, versionJob: versionJob, ownerID: workspace.ownerID
        )
        do {
            // Decided inside the transaction that inserts the build: of concurrent requests exactly one wins.
            let audit = context.audit
            let build = try await store.createBuild(workspaceID: workspace.id, versionID: version.id, transition: body.transition, job: job) { created in
                try Self.buildEntry(audit, build: created, workspaceName: workspace.name, organizationID: workspace.organizationID)
            }
            return Created(try await BuildJSON.make(build, store: store))
        } catch StoreError.buildActive {
            // The Store's refusal in this resource's words (Coder's); its `notFound` (the
            // workspace gone meanwhile) answers 404 through `StoreError`'s own conformance.
            throw APIError(.conflict, "A workspace build is already active.")
        }
    }

    /// The template's active version and its import job, which every build of it starts from.
    private func activeVersion(of template: Template) async throws -> (TemplateVersion, ProvisionerJob) {
        guard let version = try await store.templateVersion(id: template.activeVersionID),
              let job = try await store.job(id: version.jobID) else {
            throw APIError.internalError("the template's active version is missing")
        }
        return (version, job)
    }
}

extension Lookup where Value == Workspace {
    /// Deleted workspaces only when asked (their builds stay readable).
    static func workspace(_ id: UUID, in store: Store, includingDeleted: Bool = false) -> Lookup {
        Lookup(
            fetch: { try await store.workspace(id: id, includingDeleted: includingDeleted) },
            resource: { .workspace(owner: $0.ownerID, organization: $0.organizationID) }
        )
    }
}

import Foundation
import Hummingbird
import Provisioning
import Pubsub
import Store
import WireFormat
import WebSocket

/// Templates, workspaces and their builds: what turns into provisioner jobs.
struct WorkspaceRoutes: Sendable {
    let store: Store
    let pubsub: Pubsub?
    /// Followed log streams close when their credential is revoked.
    let sockets: AuthenticatedSockets
    static let logSocket = WebSocketConfiguration(pingInterval: .seconds(15))
    /// Log lines per read, for `GET …/logs` and for each read of a followed stream.
    static let logPageSize = 1000
    /// A followed stream re-reads this often even without an announcement, in case one was lost
    /// without a resync (it should not be); announcements do the real work.
    static let logBackupPoll: Duration = .seconds(30)

    struct CreateTemplateRequest: Decodable {
        let name: String?
        let display_name: String?
        let description: String?
        let template_version_id: UUID?
    }

    struct TemplateJSON: Encodable {
        let id: UUID
        let created_at: Date
        let updated_at: Date
        let organization_id: UUID
        let name: String
        let display_name: String
        let description: String
        let provisioner: String
        let active_version_id: UUID
        let created_by_id: UUID

        init(_ template: Template) {
            id = template.id
            created_at = template.createdAt
            updated_at = template.updatedAt
            organization_id = template.organizationID
            name = template.name
            display_name = template.displayName
            description = template.description
            provisioner = template.provisioner
            active_version_id = template.activeVersionID
            created_by_id = template.createdBy
        }
    }

    struct CreateWorkspaceRequest: Decodable {
        let name: String?
        let template_id: UUID?
    }

    struct CreateBuildRequest: Decodable {
        let transition: String?
    }

    struct ResourceJSON: Encodable {
        let name: String
        let type: String
        let daily_cost: Int64
    }

    struct BuildJSON: Encodable {
        let id: UUID
        let created_at: Date
        let updated_at: Date
        let workspace_id: UUID
        let template_version_id: UUID
        let build_number: Int32
        let transition: String
        let initiator_id: UUID
        let status: String
        let daily_cost: Int64
        let job: ProvisionerJobJSON
        let resources: [ResourceJSON]
    }

    struct WorkspaceJSON: Encodable {
        let id: UUID
        let created_at: Date
        let updated_at: Date
        let owner_id: UUID
        let organization_id: UUID
        let template_id: UUID
        let name: String
        let latest_build: BuildJSON
    }

    struct LogJSON: Encodable {
        let id: Int64
        let created_at: Date
        let log_source: String
        let log_level: String
        let stage: String
        let output: String
        init(_ line: JobLogLine) {
            id = line.id
            created_at = line.createdAt
            log_source = line.source
            log_level = line.level
            stage = line.stage
            output = line.output
        }
    }

    func addAuthenticatedRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("organizations/:organization/templates", use: createTemplate)
        group.get("organizations/:organization/templates") { _, context in
            let organization = try await context.organizationParameter(store)
            guard RBAC.can(try context.requireSubject(), .read, .templates(organization: organization.id)) else { throw APIError.resourceNotFound }
            return try JSON.response(try await store.templates(organizationID: organization.id).map(TemplateJSON.init))
        }
        group.get("templates/:template") { _, context in
            try JSON.response(TemplateJSON(try await readableTemplate(context)))
        }
        group.post("organizations/:organization/members/:user/workspaces", use: createWorkspace)
        group.get("workspaces/:workspace") { _, context in
            try JSON.response(try await workspaceJSON(try await readableWorkspace(context)))
        }
        group.post("workspaces/:workspace/builds", use: createBuild)
        group.get("workspacebuilds/:build") { _, context in
            try JSON.response(try await buildJSON(try await readableBuild(context).build))
        }
        group.patch("workspacebuilds/:build/cancel") { _, context in
            let (build, workspace) = try await readableBuild(context)
            guard RBAC.can(try context.requireSubject(), .update, .workspace(owner: workspace.ownerID, organization: workspace.organizationID)) else {
                throw APIError.forbidden
            }
            guard let job = try await store.job(id: build.jobID), job.completedAt == nil, job.canceledAt == nil else {
                throw APIError(.badRequest, "Job has already completed or been canceled.")
            }
            _ = try await store.cancelJob(id: job.id)
            return try JSON.response(MessageJSON(message: "Job has been marked as canceled..."))
        }
    }

    // MARK: logs, followed

    /// `GET /workspacebuilds/{build}/logs?follow=true` as a WebSocket: every log line so far (after
    /// `after`), then each new one as the daemon sends it (from any replica: NOTIFY on the logs
    /// channel, with a slow backup poll), one JSON object per text message; closed with 1000
    /// once the job has ended and every line is out.
    /// The logs of a build: a page of JSON, or, on a WebSocket upgrade, the followed stream.
    /// Registered behind `WebSocketHandshakeGate` and `RequireAuthentication`.
    func addWebSocketRoutes(to group: RouterGroup<AppRequestContext>) {
        group.webSocket("workspacebuilds/:build/logs", plain: logsPage, accept: followedLogs)
    }

    @Sendable private func logsPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let (build, _) = try await readableBuild(context)
        let after = Int64(request.uri.queryParameters["after"].map(String.init) ?? "0") ?? 0
        // Paged: `limit` lines (default and most: Self.logPageSize) after the line `after`.
        let requested = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? Self.logPageSize
        let limit = min(max(requested, 1), Self.logPageSize)
        return try JSON.response(try await store.jobLogs(jobID: build.jobID, after: after, limit: limit).map(LogJSON.init))
    }

    @Sendable private func followedLogs(_ request: Request, _ context: AppRequestContext) async throws -> WebSocketAcceptance {
        let subject = try context.requireSubject()
        let (build, _) = try await readableBuild(context)
        let after = Int64(request.uri.queryParameters["after"].map(String.init) ?? "0") ?? 0
        let sockets = self.sockets
        return WebSocketAcceptance(configuration: Self.logSocket) { connection in
            _ = try? await connection.run { _, outbound in
                let socket = sockets.register(subject) { reason in
                    try? await outbound.close(code: .policyViolation, reason: reason)
                }
                defer { sockets.remove(socket) }
                try await followLogs(jobID: build.jobID, after: after) { line in
                    try await outbound.send(text: try WireJSON.encodeString(LogJSON(line)))
                }
            }
        }
    }

    private func followLogs(jobID: UUID, after: Int64, send: @escaping @Sendable (JobLogLine) async throws -> Void) async throws {
        let wanted = jobID.uuidString.lowercased()
        let announcements = pubsub?.subscribe(Store.jobLogsChannel)
        // Wake on an announcement about this job (new lines, or its end), on resync, or on the slow backup poll.
        let (wakes, bell) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let announcements {
                group.addTask {
                    for await event in announcements where event == .resync || event == .message(wanted) { bell.yield() }
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: Self.logBackupPoll)
                    bell.yield()
                }
            }
            bell.yield()
            var last = after
            for await _ in wakes {
                let ended = try await store.job(id: jobID)?.completedAt != nil
                // Read the lines after learning whether the job ended: a line written before the
                // completion is then certainly among them.
                while true {
                    let page = try await store.jobLogs(jobID: jobID, after: last, limit: Self.logPageSize)
                    for line in page {
                        try await send(line)
                        last = line.id
                    }
                    if page.count < Self.logPageSize { break }
                }
                if ended { break }
            }
            group.cancelAll()
        }
    }

    // MARK: templates

    @Sendable func createTemplate(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let organization = try await context.organizationParameter(store)
        guard RBAC.can(subject, .create, .templates(organization: organization.id)) else { throw APIError.forbidden }
        let body = try await request.decodeJSON(as: CreateTemplateRequest.self)
        var validator = Validator()
        let name = validator.username("name", body.name)
        if body.template_version_id == nil { validator.fail("template_version_id", tag: "required", value: "") }
        try validator.check()
        guard let version = try await store.templateVersion(id: body.template_version_id!), version.organizationID == organization.id else {
            throw APIError(.notFound, "Template version \"\(body.template_version_id!)\" not found.")
        }
        guard let job = try await store.job(id: version.jobID), job.status == "succeeded" else {
            throw APIError(.badRequest, "The template version's import job has not succeeded.")
        }
        do {
            let template = try await store.createTemplate(
                organizationID: organization.id, name: name!, displayName: body.display_name ?? "", description: body.description ?? "",
                versionID: version.id, provisioner: job.provisioner, createdBy: subject.userID
            )
            return try JSON.response(TemplateJSON(template), status: .created)
        } catch StoreError.conflict {
            throw APIError(.conflict, "Template with name \"\(name!)\" already exists.", validations: [.init(field: "name", detail: "This value is already in use and should be unique.")])
        }
    }

    private func readableTemplate(_ context: AppRequestContext) async throws -> Template {
        let id = try context.uuidParameter("template")
        guard let template = try await store.template(id: id),
              RBAC.can(try context.requireSubject(), .read, .templates(organization: template.organizationID))
        else { throw APIError.resourceNotFound }
        return template
    }

    // MARK: workspaces and builds

    @Sendable func createWorkspace(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let organization = try await context.organizationParameter(store)
        let owner = try await context.userParameter(store)
        guard RBAC.can(subject, .create, .workspace(owner: owner.id, organization: organization.id)) else { throw APIError.forbidden }
        let body = try await request.decodeJSON(as: CreateWorkspaceRequest.self)
        var validator = Validator()
        let name = validator.username("name", body.name)
        if body.template_id == nil { validator.fail("template_id", tag: "required", value: "") }
        try validator.check()
        guard let template = try await store.template(id: body.template_id!), template.organizationID == organization.id else {
            throw APIError(.notFound, "Template with ID \"\(body.template_id!)\" not found.")
        }
        let (version, versionJob) = try await activeVersion(of: template)
        let job = NewProvisionerJob(
            organizationID: organization.id, initiatorID: subject.userID, provisioner: template.provisioner,
            type: .workspaceBuild, fileID: versionJob.fileID, input: "{}", tags: versionJob.tags
        )
        do {
            let (workspace, _) = try await store.createWorkspace(
                ownerID: owner.id, organizationID: organization.id, templateID: template.id, versionID: version.id, name: name!, job: job
            )
            return try JSON.response(try await workspaceJSON(workspace), status: .created)
        } catch StoreError.conflict {
            throw APIError(.conflict, "Workspace \"\(name!)\" already exists.", validations: [.init(field: "name", detail: "This value is already in use and should be unique.")])
        }
    }

    @Sendable func createBuild(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let subject = try context.requireSubject()
        let workspace = try await readableWorkspace(context)
        guard RBAC.can(subject, .update, .workspace(owner: workspace.ownerID, organization: workspace.organizationID)) else { throw APIError.forbidden }
        let body = try await request.decodeJSON(as: CreateBuildRequest.self)
        guard let transition = body.transition, ["start", "stop", "delete"].contains(transition) else {
            throw APIError.validationFailed([.init(field: "transition", detail: "Validation failed for tag \"oneof\" with value: \"\(body.transition ?? "")\"")])
        }
        guard let template = try await store.template(id: workspace.templateID) else {
            throw APIError.internalError("the workspace's template is missing")
        }
        let (version, versionJob) = try await activeVersion(of: template)
        let job = NewProvisionerJob(
            organizationID: workspace.organizationID, initiatorID: subject.userID, provisioner: template.provisioner,
            type: .workspaceBuild, fileID: versionJob.fileID, input: "{}", tags: versionJob.tags
        )
        do {
            // Decided inside the transaction that inserts the build: of concurrent requests exactly one wins.
            let build = try await store.createBuild(workspaceID: workspace.id, versionID: version.id, transition: transition, job: job)
            return try JSON.response(try await buildJSON(build), status: .created)
        } catch StoreError.buildActive {
            throw APIError(.conflict, "A workspace build is already active.")
        } catch StoreError.notFound {
            throw APIError.resourceNotFound
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

    private func readableWorkspace(_ context: AppRequestContext) async throws -> Workspace {
        let id = try context.uuidParameter("workspace")
        guard let workspace = try await store.workspace(id: id),
              RBAC.can(try context.requireSubject(), .read, .workspace(owner: workspace.ownerID, organization: workspace.organizationID))
        else { throw APIError.resourceNotFound }
        return workspace
    }

    func readableBuild(_ context: AppRequestContext) async throws -> (build: WorkspaceBuild, workspace: Workspace) {
        let id = try context.uuidParameter("build")
        guard let build = try await store.build(id: id), let workspace = try await store.workspace(id: build.workspaceID, includingDeleted: true),
              RBAC.can(try context.requireSubject(), .read, .workspace(owner: workspace.ownerID, organization: workspace.organizationID))
        else { throw APIError.resourceNotFound }
        return (build, workspace)
    }

    private func workspaceJSON(_ workspace: Workspace) async throws -> WorkspaceJSON {
        guard let latest = try await store.latestBuild(workspaceID: workspace.id) else { throw APIError.internalError("workspace without a build") }
        return WorkspaceJSON(
            id: workspace.id, created_at: workspace.createdAt, updated_at: workspace.updatedAt, owner_id: workspace.ownerID,
            organization_id: workspace.organizationID, template_id: workspace.templateID, name: workspace.name,
            latest_build: try await buildJSON(latest)
        )
    }

    private func buildJSON(_ build: WorkspaceBuild) async throws -> BuildJSON {
        guard let job = try await store.job(id: build.jobID) else { throw APIError.internalError("build without its job") }
        let resources = try await store.resources(jobID: job.id).map { ResourceJSON(name: $0.name, type: $0.type, daily_cost: $0.dailyCost) }
        return BuildJSON(
            id: build.id, created_at: build.createdAt, updated_at: build.updatedAt, workspace_id: build.workspaceID,
            template_version_id: build.templateVersionID, build_number: build.buildNumber, transition: build.transition,
            initiator_id: build.initiatorID, status: Self.buildStatus(job.status, transition: build.transition),
            daily_cost: build.dailyCost, job: try await ProvisionerJobJSON.make(job, store: store), resources: resources
        )
    }

    /// Coder's workspace status from the job's status and the transition.
    static func buildStatus(_ job: String, transition: String) -> String {
        switch (job, transition) {
        case ("pending", _): "pending"
        case ("running", "start"): "starting"
        case ("running", "stop"): "stopping"
        case ("running", "delete"): "deleting"
        case ("succeeded", "start"): "running"
        case ("succeeded", "stop"): "stopped"
        case ("succeeded", "delete"): "deleted"
        case ("canceling", _): "canceling"
        case ("canceled", _): "canceled"
        default: "failed"
        }
    }
}

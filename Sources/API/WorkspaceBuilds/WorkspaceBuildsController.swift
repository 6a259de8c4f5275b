import Foundation
import Hummingbird
import Pubsub
import Store
import WebSocket
import WireFormat

/// Workspace builds: reading one, its resources, its state, its logs (a page, or followed over a
/// WebSocket), canceling it.
struct WorkspaceBuildsController: ResourceController {
    let store: Store
    let pubsub: Pubsub?
    /// Followed log streams close when their credential is revoked.
    let sockets: AuthenticatedSockets
    /// A build's state is for those who may update its workspace's template.
    let access: TemplateAccessChecker
    static let logSocket = WebSocketConfiguration(pingInterval: .seconds(15))
    /// Log lines per read, for `GET …/logs` and for each read of a followed stream.
    static let logPageSize = 1000
    /// A followed stream re-reads this often even without an announcement, in case one was lost
    /// without a resync (it should not be); announcements do the real work.
    static let logBackupPoll: Duration = .seconds(30)

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("workspacebuilds/:build") { _, context in
            try await BuildJSON.make(try await context.load(.build(try context.uuidParameter("build"), in: store), for: .read).build, store: store)
        }
        signedIn.get("workspacebuilds/:build/resources") { _, context in
            let (build, _) = try await context.load(.build(try context.uuidParameter("build"), in: store), for: .read)
            return try await JobResources.of(jobID: build.jobID, in: store)
        }
        signedIn.get("workspacebuilds/:build/state", use: state)
        signedIn.webSocket("workspacebuilds/:build/logs", plain: logsPage, accept: followedLogs)
        signedIn.patch("workspacebuilds/:build/cancel") { _, context in
            let (build, _) = try await context.load(.build(try context.uuidParameter("build"), in: store), for: .update)
            return try await JobCancellation.cancel(jobID: build.jobID, in: store)
        }
        return routes
    }

    /// `GET …/state`: the provisioner state stored on the build (Terraform's state), as stored,
    /// labelled `application/json` as Coder labels it; an empty body when there is none. As in
    /// Coder since 0.19, only for those who may update the workspace's template (what pushing a
    /// version needs: owners, template admins, the template's ACL admins); anyone else, the
    /// workspace's owner too, gets the 404 of a build that does not exist.
    @Sendable private func state(_ request: Request, _ context: SignedInContext) async throws -> Response {
        let id = try context.uuidParameter("build")
        guard let build = try await store.build(id: id),
              let workspace = try await store.workspace(id: build.workspaceID, includingDeleted: true) else {
            throw APIError.resourceNotFound
        }
        let template = Lookup<AccessibleTemplate>.template(workspace.templateID, in: store, checker: access, context: context)
        guard let found = try await template.fetch(), RBAC.can(context.subject, .update, template.resource(found)) else {
            throw APIError.resourceNotFound
        }
        let state = try await store.buildState(id: build.id) ?? []
        return Response(
            status: .ok, headers: [.contentType: "application/json", .contentLength: String(state.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: state))
        )
    }

    /// `GET …/logs`: `limit` lines (default and most: `logPageSize`) after the line `after`.
    @Sendable private func logsPage(_ request: Request, _ context: SignedInContext) async throws -> Response {
        let (build, _) = try await context.load(.build(try context.uuidParameter("build"), in: store), for: .read)
        let after = Int64(request.uri.queryParameters["after"].map(String.init) ?? "0") ?? 0
        let requested = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? Self.logPageSize
        let limit = min(max(requested, 1), Self.logPageSize)
        return try JSON.response(try await store.jobLogs(jobID: build.jobID, after: after, limit: limit).map(LogJSON.init))
    }

    /// `GET …/logs?follow=true` as a WebSocket: every log line so far (after `after`), then each
    /// new one as the daemon sends it (from any replica: NOTIFY on the logs channel, with a slow
    /// backup poll), one JSON object per text message; closed with 1000 once the job has ended
    /// and every line is out.
    @Sendable private func followedLogs(_ request: Request, _ context: SignedInContext) async throws -> WebSocketAcceptance {
        let subject = context.subject
        let (build, workspace) = try await context.load(.build(try context.uuidParameter("build"), in: store), for: .read)
        let after = Int64(request.uri.queryParameters["after"].map(String.init) ?? "0") ?? 0
        let sockets = self.sockets
        // Asked again of the user whenever their roles or status change.
        let (owner, organization) = (workspace.ownerID, workspace.organizationID)
        let permission: AuthenticatedSockets.Permission = { RBAC.can($0, .read, .workspace(owner: owner, organization: organization)) }
        return WebSocketAcceptance(configuration: Self.logSocket) { connection in
            _ = try? await connection.run { _, outbound in
                let socket = sockets.register(subject, requires: permission, close: { reason in
                    try? await outbound.close(code: .policyViolation, reason: reason)
                })
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
}

extension Lookup where Value == (build: WorkspaceBuild, workspace: Workspace) {
    /// A build with its workspace (deleted ones too: a deletion's build stays readable), judged
    /// as the workspace.
    static func build(_ id: UUID, in store: Store) -> Lookup {
        Lookup(
            fetch: {
                guard let build = try await store.build(id: id),
                      let workspace = try await store.workspace(id: build.workspaceID, includingDeleted: true) else { return nil }
                return (build, workspace)
            },
            resource: { .workspace(owner: $0.workspace.ownerID, organization: $0.workspace.organizationID) }
        )
    }
}

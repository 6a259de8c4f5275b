import Foundation
import Postgres
import ProvisionerDaemon
import ProvisionerProtocol
import TestSupport
import Testing
import WebSocket

/// The pre-shared key of every cluster the provisioning suites start.
let provisionerPSK = "test-psk-\(UUID().uuidString.prefix(8))"

/// A cluster whose replicas take daemons with the PSK, its owner signed in, and their organization.
struct ProvisioningSetup: Sendable {
    let cluster: ReplicaCluster
    let organizationID: String
}

/// What the suites about provisioning share: a cluster set up for daemons, template imports and
/// their jobs, daemons (in this process, or as processes where a test signals one or reads its
/// log), the hostile daemon, and the API calls their tests repeat.
protocol ProvisioningSuite: Sendable {}

extension ProvisioningSuite {
    typealias Setup = ProvisioningSetup

    static var psk: String { provisionerPSK }

    /// Starts one replica of each of `kinds` (in order) with the PSK and `extra` on a fresh
    /// database, creates the owner, and runs `body`; every replica is stopped once it returns or throws.
    func withSetUp(_ kinds: [ReplicaCluster.Kind], extra: [String] = [], _ body: (Setup) async throws -> Void) async throws {
        let db = try await TestDatabase.createMigrated()
        try await ReplicaCluster.with(databaseURL: db.url) { cluster in
            for kind in kinds { try await cluster.start(kind, extra: ["--provisioner-daemon-psk", Self.psk] + extra) }
            try await cluster.createOwner()
            let me = try await HTTP.request(.GET, "\(cluster.members[0].base)/api/v2/users/me", token: cluster.token)
            #expect(me.status == 200)
            try await body(Setup(cluster: cluster, organizationID: try #require(try (me.json["organization_ids"] as? [String])?.first)))
        }
    }

    /// `replicas` in-process replicas.
    func withSetUp(replicas: Int, extra: [String] = [], _ body: (Setup) async throws -> Void) async throws {
        try await withSetUp([ReplicaCluster.Kind](repeating: .inProcess, count: replicas), extra: extra, body)
    }

    /// Uploads a template archive and posts an import job through `member`; returns the version id.
    func postImport(_ setup: Setup, through member: ReplicaCluster.Member, manifest: [String: Any], tags: [String: String] = [:]) async throws -> String {
        let manifestData = try JSONSerialization.data(withJSONObject: manifest)
        let archive = TarArchive.make(name: "manifest.json", contents: Array(manifestData))
        let upload = try await HTTP.raw(.POST, "\(member.base)/api/v2/files", body: archive, contentType: "application/x-tar", token: setup.cluster.token)
        #expect(upload.status == 201)
        let fileID = try #require(try upload.json["hash"] as? String)
        let version = try await HTTP.request(.POST, "\(member.base)/api/v2/organizations/\(setup.organizationID)/templateversions", json: [
            "storage_method": "file", "file_id": fileID, "provisioner": "echo", "tags": tags,
        ], token: setup.cluster.token)
        #expect(version.status == 201, "\(String(decoding: version.body, as: UTF8.self))")
        return try #require(try version.json["id"] as? String)
    }

    func job(_ setup: Setup, _ versionID: String, at member: ReplicaCluster.Member) async throws -> [String: Any] {
        let version = try await HTTP.request(.GET, "\(member.base)/api/v2/templateversions/\(versionID)", token: setup.cluster.token)
        guard version.status == 200 else { throw TestSetupError("GET /templateversions/\(versionID): \(version.status)") }
        return try version.json["job"] as? [String: Any] ?? [:]
    }

    /// A real `coordinator provisionerd start` process: for a test that signals the daemon or
    /// reads its log. It is killed when the value goes away.
    func daemonProcess(_ urls: [ReplicaCluster.Member], name: String, extra: [String] = []) throws -> CoordinatorProcess {
        try CoordinatorProcess(["provisionerd", "start", "--psk", Self.psk, "--name", name] + urls.flatMap { ["--url", $0.base] } + extra)
    }

    /// A daemon in this process, from the same flags as `daemonProcess`, while `body` runs; it is
    /// stopped (as on SIGTERM) before this returns.
    func withDaemon(_ urls: [ReplicaCluster.Member], name: String, extra: [String] = [], _ body: (InProcessDaemon) async throws -> Void) async throws {
        try await InProcessDaemon.with(["--psk", Self.psk, "--name", name] + urls.flatMap { ["--url", $0.base] } + extra, body)
    }

    // MARK: the hostile daemon and the API around it

    func hostile(_ member: ReplicaCluster.Member, name: String, instanceID: String? = UUID().uuidString, tags: [String] = [], token: String? = nil, maxMessageSize: Int = ProvisionerLimits.maxMessageBytes) async throws -> (HostileDaemon, Welcome) {
        try await HostileDaemon.connect(port: member.port, .init(
            name: name, instanceID: instanceID, tags: tags, psk: token == nil ? Self.psk : nil, token: token, maxMessageSize: maxMessageSize
        ))
    }

    func database(_ setup: Setup) -> DatabasePool {
        DatabasePool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1))
    }

    /// Creates a member of the organization and returns their session token.
    func memberToken(_ setup: Setup, name: String = "member") async throws -> String {
        let base = setup.cluster.members[0].base
        let created = try await HTTP.request(.POST, "\(base)/api/v2/users", json: [
            "email": "\(name)@example.com", "username": name, "password": "M3mber-Passw0rd!", "organization_id": setup.organizationID,
        ], token: setup.cluster.token)
        #expect(created.status == 201)
        let login = try await HTTP.request(.POST, "\(base)/api/v2/users/login", json: ["email": "\(name)@example.com", "password": "M3mber-Passw0rd!"])
        #expect(login.status == 201)
        return try #require(try login.json["session_token"] as? String)
    }

    /// The id of the user whose session `token` is, as the API writes it (lowercase).
    func sessionUserID(_ setup: Setup, token: String) async throws -> String {
        let me = try await HTTP.request(.GET, "\(setup.cluster.members[0].base)/api/v2/users/me", token: token)
        #expect(me.status == 200)
        return try #require(try me.json["id"] as? String)
    }

    /// Acquires the next job on `daemon` (request id `id`).
    func acquire(_ daemon: HostileDaemon, id: Int64 = 1) async throws -> AcquiredJob {
        try await daemon.send(.acquire(id: id))
        guard case .job(_, let job) = try await daemon.reply(to: id) else { throw TestSetupError("no job") }
        return job
    }

    /// `daemon` still answers on its connection (a waiting acquire, withdrawn).
    func stillServed(_ daemon: HostileDaemon, id: Int64) async throws -> Bool {
        try await daemon.send(.acquire(id: id))
        try await daemon.send(.cancelAcquire(id: id))
        guard case .acquireCanceled = try await daemon.reply(to: id) else { return false }
        return true
    }

    /// A template whose import ran on `daemon`, and a workspace of it whose first build `daemon`
    /// has acquired (not finished). Returns the workspace id and the build's job.
    func workspaceWithAcquiredBuild(_ setup: Setup, _ daemon: HostileDaemon, manifest: [String: Any] = ["resources": []]) async throws -> (workspaceID: String, build: AcquiredJob) {
        let a = setup.cluster.members[0]
        let versionID = try await postImport(setup, through: a, manifest: manifest)
        let importJob = try await acquire(daemon, id: 100)
        try await daemon.send(.complete(id: 101, lease: importJob.lease, result: JobResult(resources: [])))
        guard case .done = try await daemon.reply(to: 101) else { throw TestSetupError("import not done") }
        let template = try await HTTP.request(.POST, "\(a.base)/api/v2/organizations/\(setup.organizationID)/templates", json: [
            "name": "t-\(UUID().uuidString.prefix(6).lowercased())", "template_version_id": versionID,
        ], token: setup.cluster.token)
        #expect(template.status == 201)
        let templateID = try #require(try template.json["id"] as? String)
        let workspace = try await HTTP.request(.POST, "\(a.base)/api/v2/organizations/\(setup.organizationID)/members/me/workspaces", json: [
            "name": "w-\(UUID().uuidString.prefix(6).lowercased())", "template_id": templateID,
        ], token: setup.cluster.token)
        #expect(workspace.status == 201)
        let workspaceID = try #require(try workspace.json["id"] as? String)
        return (workspaceID, try await acquire(daemon, id: 102))
    }

    func daemonList(_ setup: Setup, at member: ReplicaCluster.Member) async throws -> [[String: Any]] {
        let response = try await HTTP.request(.GET, "\(member.base)/api/v2/organizations/\(setup.organizationID)/provisionerdaemons", token: setup.cluster.token)
        #expect(response.status == 200)
        return try response.jsonArray
    }

    func buildID(_ pool: DatabasePool, job: UUID) async throws -> String? {
        try await pool.query("SELECT id FROM workspace_builds WHERE job_id = $1", [job]).first?.decode(0, as: UUID.self).uuidString.lowercased()
    }

    /// Posts the next build (start) of the workspace `previous` belongs to and acquires it.
    func nextBuild(_ setup: Setup, workspaceOf previous: AcquiredJob, daemon: HostileDaemon, id: Int64, pool: DatabasePool, transition: String = "start") async throws -> (String, AcquiredJob) {
        let workspaceID = try #require(try await pool.query("SELECT workspace_id FROM workspace_builds WHERE job_id = $1", [previous.lease.jobID]).first?.decode(0, as: UUID.self))
        let posted = try await HTTP.request(.POST, "\(setup.cluster.members[0].base)/api/v2/workspaces/\(workspaceID.uuidString.lowercased())/builds", json: ["transition": transition], token: setup.cluster.token)
        #expect(posted.status == 201, "\(String(decoding: posted.body, as: UTF8.self))")
        return (try #require(try posted.json["id"] as? String), try await acquire(daemon, id: id))
    }
}

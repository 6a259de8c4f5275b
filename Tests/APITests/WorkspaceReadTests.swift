import Foundation
import HTTPTypes
import Postgres
import Store
import Testing
@testable import API

/// The reads around templates and workspaces, in Coder's shapes: a template version's and a
/// build's resources, a build's state (template updaters only), the workspace list with Coder's
/// search, and a workspace's builds.
@Suite struct WorkspaceReadTests {
    struct Fixture {
        let owner: (token: String, userID: UUID, organizationID: UUID)
        let member: (token: String, id: UUID)
        let version: TemplateVersion
        /// `files`: Everyone may use it; its version's import has completed.
        let template: Template
    }

    /// An owner, a member, and a template Everyone may use.
    static func fixture(_ client: TestClient, _ store: Store) async throws -> Fixture {
        let owner = try await licensedOwner(client)
        let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
        let version = try await Self.version(store, owner: owner, name: "v1")
        try await Self.complete(store, jobID: version.jobID)
        let template = try await Self.template(store, owner: owner, name: "files", version: version)
        return Fixture(owner: owner, member: member, version: version, template: template)
    }

    /// A template version whose import job waits for a daemon.
    static func version(_ store: Store, owner: (token: String, userID: UUID, organizationID: UUID), name: String, templateID: UUID? = nil) async throws -> TemplateVersion {
        let fileID = try await store.insertFile(hash: "hash-\(name)", createdBy: owner.userID, mimetype: "application/x-tar", data: [1])
        return try await store.createTemplateVersion(name: name, templateID: templateID, job: NewProvisionerJob(
            organizationID: owner.organizationID, initiatorID: owner.userID, provisioner: "echo", type: .templateVersionImport,
            fileID: fileID, input: "{}", tags: ["scope": "organization", "owner": ""]
        ))
    }

    static func template(_ store: Store, owner: (token: String, userID: UUID, organizationID: UUID), name: String, version: TemplateVersion) async throws -> Template {
        try await store.createTemplate(
            organizationID: owner.organizationID, name: name, displayName: "", description: "", versionID: version.id,
            provisioner: "echo", createdBy: owner.userID
        )
    }

    /// Ends a job as a daemon would have: started and completed, with `error` if it failed.
    static func complete(_ store: Store, jobID: UUID, error: String? = nil) async throws {
        let binds: [any PostgresEncodable] = [error, jobID]
        try await store.pool.query("UPDATE provisioner_jobs SET started_at = now(), completed_at = now(), error = $1 WHERE id = $2", binds)
    }

    /// A resource row of a job, as `Store.finishJob` writes one.
    static func addResource(_ store: Store, jobID: UUID, name: String, type: String, transition: String, cost: Int) async throws {
        let binds: [any PostgresEncodable] = [UUID(), jobID, transition, type, name, cost]
        try await store.pool.query("INSERT INTO workspace_resources (id, job_id, transition, type, name, daily_cost) VALUES ($1, $2, $3, $4, $5, $6)", binds)
    }

    /// A workspace made through the API by `token`'s user: its id, its first build's and that build's job's.
    static func createWorkspace(
        _ client: TestClient, _ f: Fixture, name: String, token: String, template: Template? = nil
    ) async throws -> (id: UUID, buildID: UUID, jobID: UUID) {
        let created = try await client.request(.post, "/api/v2/organizations/\(f.owner.organizationID)/members/me/workspaces", json: [
            "template_id": (template ?? f.template).id.uuidString, "name": name,
        ], token: token)
        try #require(created.status == .created)
        let build = try #require(try created.json["latest_build"] as? [String: Any])
        let job = try #require(build["job"] as? [String: Any])
        return (
            try #require(UUID(uuidString: try created.json["id"] as? String ?? "")),
            try #require(UUID(uuidString: build["id"] as? String ?? "")),
            try #require(UUID(uuidString: job["id"] as? String ?? ""))
        )
    }

    static func query(_ q: String) -> String {
        "q=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q)
    }

    /// A page of `GET /workspaces`: the ids, in order, and `count`.
    struct Listed: Equatable {
        let ids: [String]
        let count: Int?
    }

    /// A JSON object written with sorted keys, to compare two answers whole.
    static func canonical(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static let resourceKeys: Set<String> = ["id", "created_at", "job_id", "workspace_transition", "type", "name", "hide", "icon", "daily_cost"]

    @Test func aTemplateVersionsResourcesAreWhatItsImportFound() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let version = try await Self.version(store, owner: f.owner, name: "v2", templateID: f.template.id)
            let path = "/api/v2/templateversions/\(version.id)/resources"
            let early = try await client.request(.get, path, token: f.member.token)
            #expect(early.status == .badRequest)
            #expect(try early.message == "Job hasn't completed!")

            try await Self.addResource(store, jobID: version.jobID, name: "web", type: "terraform_data", transition: "start", cost: 2)
            try await Self.addResource(store, jobID: version.jobID, name: "disk", type: "local_file", transition: "start", cost: 0)
            try await Self.complete(store, jobID: version.jobID)
            let found = try await client.request(.get, path, token: f.member.token)
            #expect(found.status == .ok)
            let resources = try found.jsonArray
            // By name; `agents` and `metadata` are left out, as Coder leaves them out when empty.
            #expect(resources.map { $0["name"] as? String } == ["disk", "web"])
            #expect(resources.map { Set($0.keys) } == [Self.resourceKeys, Self.resourceKeys])
            let web = try #require(resources.last)
            #expect(UUID(uuidString: web["id"] as? String ?? "") != nil)
            #expect((web["created_at"] as? String)?.hasSuffix("Z") == true)
            #expect(web["job_id"] as? String == version.jobID.uuidString.lowercased())
            #expect(web["workspace_transition"] as? String == "start")
            #expect(web["type"] as? String == "terraform_data")
            #expect(web["hide"] as? Bool == false)
            #expect(web["icon"] as? String == "")
            #expect(web["daily_cost"] as? Int == 2)

            // A failed import has completed: it answers what it stored (nothing here).
            let failed = try await Self.version(store, owner: f.owner, name: "v3", templateID: f.template.id)
            try await Self.complete(store, jobID: failed.jobID, error: "boom")
            let none = try await client.request(.get, "/api/v2/templateversions/\(failed.id)/resources", token: f.owner.token)
            #expect(none.status == .ok)
            #expect(try none.jsonArray.isEmpty)

            // A version of a template the member may not use is missing for them.
            let hiddenVersion = try await Self.version(store, owner: f.owner, name: "h1")
            try await Self.complete(store, jobID: hiddenVersion.jobID)
            _ = try await store.createTemplate(
                organizationID: f.owner.organizationID, name: "hidden", displayName: "", description: "", versionID: hiddenVersion.id,
                provisioner: "echo", createdBy: f.owner.userID, everyoneAccess: false
            )
            let hidden = try await client.request(.get, "/api/v2/templateversions/\(hiddenVersion.id)/resources", token: f.member.token)
            #expect(hidden.status == .notFound)
            #expect(try hidden.message == "Resource not found or you do not have access to this resource")
            #expect(try await client.request(.get, "/api/v2/templateversions/\(hiddenVersion.id)/resources", token: f.owner.token).status == .ok)
            #expect(try await client.request(.get, "/api/v2/templateversions/\(UUID())/resources", token: f.owner.token).status == .notFound)
            let malformed = try await client.request(.get, "/api/v2/templateversions/nope/resources", token: f.owner.token)
            #expect(malformed.status == .badRequest)
            #expect(try malformed.message == "Invalid UUID \"nope\".")
            #expect(try await client.request(.get, path).status == .unauthorized)
        }
    }

    @Test func aBuildsResourcesAreReadWithItsWorkspaceAndItsStateOnlyByTemplateUpdaters() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let other = try await client.createMember("other", organizationID: f.owner.organizationID, token: f.owner.token)
            let workspace = try await Self.createWorkspace(client, f, name: "mine", token: f.member.token)
            let resourcesPath = "/api/v2/workspacebuilds/\(workspace.buildID)/resources"
            let early = try await client.request(.get, resourcesPath, token: f.member.token)
            #expect(early.status == .badRequest)
            #expect(try early.message == "Job hasn't completed!")

            try await Self.addResource(store, jobID: workspace.jobID, name: "file", type: "terraform_data", transition: "start", cost: 1)
            try await Self.complete(store, jobID: workspace.jobID)
            let found = try await client.request(.get, resourcesPath, token: f.member.token)
            #expect(found.status == .ok)
            let resources = try found.jsonArray
            #expect(resources.map { Set($0.keys) } == [Self.resourceKeys])
            let file = try #require(resources.first)
            #expect(file["name"] as? String == "file")
            #expect(file["job_id"] as? String == workspace.jobID.uuidString.lowercased())
            #expect(file["workspace_transition"] as? String == "start")
            #expect(file["daily_cost"] as? Int == 1)
            // Whoever may not read the workspace finds no build.
            #expect(try await client.request(.get, resourcesPath, token: other.token).status == .notFound)
            #expect(try await client.request(.get, resourcesPath, token: f.owner.token).status == .ok)
            #expect(try await client.request(.get, "/api/v2/workspacebuilds/\(UUID())/resources", token: f.owner.token).status == .notFound)
            // The build's own JSON keeps its inline resources as they were.
            let build = try await client.request(.get, "/api/v2/workspacebuilds/\(workspace.buildID)", token: f.member.token)
            #expect(build.status == .ok)
            let inline = try #require(try build.json["resources"] as? [[String: Any]])
            #expect(inline.map { Set($0.keys) } == [["name", "type", "daily_cost"]])

            // No state yet: an empty body, labelled JSON as Coder labels it.
            let statePath = "/api/v2/workspacebuilds/\(workspace.buildID)/state"
            let empty = try await client.request(.get, statePath, token: f.owner.token)
            #expect(empty.status == .ok)
            #expect(empty.headers[.contentType] == "application/json")
            #expect(empty.body.isEmpty)
            let state = #"{"version":4,"terraform_version":"1.11.4","resources":[]}"#
            try await store.pool.query("UPDATE workspace_builds SET state = $1 WHERE id = $2", [PostgresBytes(Array(state.utf8)), workspace.buildID])
            let stored = try await client.request(.get, statePath, token: f.owner.token)
            #expect(stored.status == .ok)
            #expect(stored.headers[.contentType] == "application/json")
            #expect(String(decoding: stored.body, as: UTF8.self) == state)

            // The workspace's owner, a plain member, may not read it: the 404 of a missing build.
            let owned = try await client.request(.get, statePath, token: f.member.token)
            #expect(owned.status == .notFound)
            #expect(try owned.message == "Resource not found or you do not have access to this resource")
            #expect(try await client.request(.get, statePath, token: other.token).status == .notFound)

            // A template admin may, and so may a member the template's ACL makes its admin.
            _ = try await store.createUser(NewUser(
                email: "ta@example.com", username: "templateadmin", hashedPassword: try Passwords.hash("An0ther-Passw0rd!", parameters: .testCost),
                siteRoles: ["template-admin"], organizationID: f.owner.organizationID
            ))
            let templateAdmin = try await client.login("ta@example.com", "An0ther-Passw0rd!")
            let asTemplateAdmin = try await client.request(.get, statePath, token: templateAdmin)
            #expect(asTemplateAdmin.status == .ok)
            #expect(String(decoding: asTemplateAdmin.body, as: UTF8.self) == state)
            let granted = try await client.request(.patch, "/api/v2/templates/\(f.template.id)/acl", json: [
                "user_perms": [f.member.id.uuidString: "admin"],
            ], token: f.owner.token)
            #expect(granted.status == .ok)
            let asACLAdmin = try await client.request(.get, statePath, token: f.member.token)
            #expect(asACLAdmin.status == .ok)
            #expect(String(decoding: asACLAdmin.body, as: UTF8.self) == state)

            let missing = try await client.request(.get, "/api/v2/workspacebuilds/\(UUID())/state", token: f.owner.token)
            #expect(missing.status == .notFound)
            #expect(try missing.message == "Resource not found or you do not have access to this resource")
            let malformed = try await client.request(.get, "/api/v2/workspacebuilds/nope/state", token: f.owner.token)
            #expect(malformed.status == .badRequest)
            #expect(try malformed.message == "Invalid UUID \"nope\".")
            #expect(try await client.request(.get, statePath).status == .unauthorized)
        }
    }

    @Test func theWorkspaceListFiltersAndPagesWhatTheCallerMayRead() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let otherVersion = try await Self.version(store, owner: f.owner, name: "o1")
            try await Self.complete(store, jobID: otherVersion.jobID)
            let otherTemplate = try await Self.template(store, owner: f.owner, name: "Other", version: otherVersion)
            let alpha = try await Self.createWorkspace(client, f, name: "alpha", token: f.owner.token)
            let beta = try await Self.createWorkspace(client, f, name: "Beta", token: f.member.token)
            let gamma = try await Self.createWorkspace(client, f, name: "gamma", token: f.member.token, template: otherTemplate)
            try await Self.complete(store, jobID: gamma.jobID)
            let (a, b, g) = (alpha.id.uuidString.lowercased(), beta.id.uuidString.lowercased(), gamma.id.uuidString.lowercased())

            /// The ids listed, in order, and the count.
            func list(_ parameters: String, _ token: String) async throws -> Listed {
                let response = try await client.request(.get, "/api/v2/workspaces" + (parameters.isEmpty ? "" : "?" + parameters), token: token)
                #expect(response.status == .ok, "\(parameters)")
                let workspaces = try #require(try response.json["workspaces"] as? [[String: Any]])
                return Listed(ids: workspaces.compactMap { $0["id"] as? String }, count: try response.json["count"] as? Int)
            }

            // Running ones first (gamma), then by owner (member before owner) and name.
            #expect(try await list("", f.owner.token) == Listed(ids: [g, b, a], count: 3))
            // A member lists their own only.
            #expect(try await list("", f.member.token) == Listed(ids: [g, b], count: 2))
            #expect(try await list(Self.query("owner:me"), f.owner.token) == Listed(ids: [a], count: 1))
            #expect(try await list(Self.query("owner:me"), f.member.token) == Listed(ids: [g, b], count: 2))
            #expect(try await list(Self.query("owner:MEMBER"), f.owner.token) == Listed(ids: [g, b], count: 2))
            #expect(try await list(Self.query("owner:nobody"), f.owner.token) == Listed(ids: [], count: 0))
            #expect(try await list(Self.query("template:other"), f.owner.token) == Listed(ids: [g], count: 1))
            #expect(try await list(Self.query("template:files owner:me"), f.owner.token) == Listed(ids: [a], count: 1))
            #expect(try await list(Self.query("name:ET"), f.owner.token) == Listed(ids: [b], count: 1))
            #expect(try await list(Self.query("bet"), f.owner.token) == Listed(ids: [b], count: 1))
            #expect(try await list(Self.query("member/gam"), f.owner.token) == Listed(ids: [g], count: 1))
            #expect(try await list(Self.query("owner/gam"), f.owner.token) == Listed(ids: [], count: 0))
            #expect(try await list(Self.query("status:running"), f.owner.token) == Listed(ids: [g], count: 1))
            #expect(try await list(Self.query("status:pending"), f.owner.token) == Listed(ids: [b, a], count: 2))
            #expect(try await list(Self.query("status:stopped"), f.owner.token) == Listed(ids: [], count: 0))
            // Pages: the count is every match; an empty page counts 0, as in Coder.
            #expect(try await list("limit=1", f.owner.token) == Listed(ids: [g], count: 3))
            #expect(try await list("limit=1&offset=1", f.owner.token) == Listed(ids: [b], count: 3))
            #expect(try await list("limit=0&offset=2", f.owner.token) == Listed(ids: [a], count: 3))
            #expect(try await list("offset=5", f.owner.token) == Listed(ids: [], count: 0))

            // Each is the workspace's own JSON.
            let listed = try await client.request(.get, "/api/v2/workspaces?limit=1", token: f.owner.token)
            #expect(listed.status == .ok)
            let first = try #require((try listed.json["workspaces"] as? [[String: Any]])?.first)
            let single = try await client.request(.get, "/api/v2/workspaces/\(gamma.id)", token: f.owner.token)
            #expect(single.status == .ok)
            #expect(try Self.canonical(first) == Self.canonical(try single.json))
            #expect((first["latest_build"] as? [String: Any])?["status"] as? String == "running")

            // Deleted workspaces are never listed.
            try await store.pool.query("UPDATE workspaces SET deleted = true WHERE id = $1", [alpha.id])
            #expect(try await list("", f.owner.token) == Listed(ids: [g, b], count: 2))
            #expect(try await list(Self.query("owner:me"), f.owner.token) == Listed(ids: [], count: 0))

            // Bad queries: Coder's message and validations.
            func refused(_ parameters: String) async throws -> TestResponse {
                let response = try await client.request(.get, "/api/v2/workspaces?" + parameters, token: f.owner.token)
                #expect(response.status == .badRequest, "\(parameters)")
                return response
            }
            func validations(_ response: TestResponse) throws -> [[String]] {
                (try response.json["validations"] as? [[String: Any]] ?? []).map { [$0["field"] as? String ?? "", $0["detail"] as? String ?? ""] }
            }
            let badStatus = try await refused(Self.query("status:bogus"))
            #expect(try badStatus.message == "Invalid workspace search query.")
            #expect(try validations(badStatus) == [["status", "Query param \"status\" has invalid value: \"bogus\" is not a valid value"]])
            let unknownKey = try await refused(Self.query("color:red status:bogus"))
            #expect(try unknownKey.message == "Invalid workspace search query.")
            #expect(try validations(unknownKey) == [
                ["status", "Query param \"status\" has invalid value: \"bogus\" is not a valid value"],
                ["color", "Query param \"color\" is not a valid query param"],
            ])
            let slashes = try await refused(Self.query("a/b/c"))
            #expect(try validations(slashes) == [["q", "Query element \"a/b/c\" can only contain 1 '/'"]])
            let colons = try await refused(Self.query("a:b:c"))
            #expect(try validations(colons) == [["q", "Query element \"a:b:c\" can only contain 1 ':'"]])
            let dangling = try await refused(Self.query("owner:"))
            #expect(try validations(dangling) == [["q", "Query element \"owner:\" cannot start or end with ':'"]])
            let badLimit = try await refused("limit=x")
            #expect(try badLimit.validationFields == ["limit"])
            #expect(try await client.request(.get, "/api/v2/workspaces").status == .unauthorized)
        }
    }

    /// What the API shows as a workspace's status (`BuildJSON.status` of `ProvisionerJob.status`,
    /// in Swift) and what `status:` filters on (one CASE in SQL) agree, for every combination
    /// the Swift code tells apart: started or not, canceled or not, completed or not (or at
    /// `-infinity`, which it reads as not), no error, an empty one or one, and each transition.
    @Test func theStatusFilterAgreesWithTheStatusShownForEveryCombination() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let versionJob = try #require(try await store.job(id: f.version.jobID))
            // SQL literals from fixed lists (no value from outside).
            let startedValues = ["NULL", "now()"], canceledValues = ["NULL", "now()"], completedValues = ["NULL", "now()", "'-infinity'"]
            let errors: [String?] = [nil, "", "boom"]
            let transitions = ["start", "stop", "delete"]
            var expected: [String: String] = [:]
            var index = 0
            for started in startedValues {
                for canceled in canceledValues {
                    for completed in completedValues {
                        for error in errors {
                            for transition in transitions {
                                let (workspace, build) = try await store.createWorkspace(
                                    ownerID: f.owner.userID, organizationID: f.owner.organizationID, templateID: f.template.id,
                                    versionID: f.version.id, name: "s\(index)",
                                    job: NewProvisionerJob(
                                        organizationID: f.owner.organizationID, initiatorID: f.owner.userID, provisioner: "echo",
                                        type: .workspaceBuild, fileID: versionJob.fileID, input: "{}", tags: versionJob.tags
                                    )
                                )
                                index += 1
                                let jobBinds: [any PostgresEncodable] = [error, build.jobID]
                                try await store.pool.query(
                                    "UPDATE provisioner_jobs SET started_at = \(started), canceled_at = \(canceled), completed_at = \(completed), error = $1 WHERE id = $2",
                                    jobBinds
                                )
                                let buildBinds: [any PostgresEncodable] = [transition, build.id]
                                try await store.pool.query("UPDATE workspace_builds SET transition = $1 WHERE id = $2", buildBinds)
                                expected[workspace.id.uuidString.lowercased()] = Self.status(
                                    started: started != "NULL", canceled: canceled != "NULL", completed: completed == "now()",
                                    failed: !(error ?? "").isEmpty, transition: transition
                                )
                            }
                        }
                    }
                }
            }
            #expect(expected.count == 108)
            // Every status Coder names is reached.
            #expect(Set(expected.values) == WorkspaceSearch.statuses)

            let all = try await client.request(.get, "/api/v2/workspaces", token: f.owner.token)
            #expect(all.status == .ok)
            #expect(try all.json["count"] as? Int == 108)
            var shown: [String: String] = [:]
            for workspace in try #require(try all.json["workspaces"] as? [[String: Any]]) {
                let id = try #require(workspace["id"] as? String)
                shown[id] = (workspace["latest_build"] as? [String: Any])?["status"] as? String
            }
            #expect(shown == expected)
            for status in WorkspaceSearch.statuses.sorted() {
                let filtered = try await client.request(.get, "/api/v2/workspaces?" + Self.query("status:\(status)"), token: f.owner.token)
                #expect(filtered.status == .ok)
                let listed = try #require(try filtered.json["workspaces"] as? [[String: Any]])
                let ids = Set(listed.compactMap { $0["id"] as? String })
                let wanted = Set(shown.filter { $0.value == status }.keys)
                #expect(!wanted.isEmpty, "\(status)")
                #expect(ids == wanted, "status:\(status)")
                #expect(try filtered.json["count"] as? Int == wanted.count, "status:\(status)")
                // And each listed one shows that status.
                #expect(listed.allSatisfy { ($0["latest_build"] as? [String: Any])?["status"] as? String == status }, "status:\(status)")
            }
        }
    }

    /// The status the code is meant to show, written out: a completed job is canceled if it was
    /// canceled, failed with an error, else what its transition did; a job not completed is
    /// canceling, pending before it starts, else doing its transition.
    static func status(started: Bool, canceled: Bool, completed: Bool, failed: Bool, transition: String) -> String {
        if completed {
            if canceled { return "canceled" }
            if failed { return "failed" }
            return ["start": "running", "stop": "stopped", "delete": "deleted"][transition] ?? "failed"
        }
        if canceled { return "canceling" }
        if !started { return "pending" }
        return ["start": "starting", "stop": "stopping", "delete": "deleting"][transition] ?? "failed"
    }

    @Test func aWorkspacesBuildsAreListedNewestFirstAndPaged() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let other = try await client.createMember("other", organizationID: f.owner.organizationID, token: f.owner.token)
            let workspace = try await Self.createWorkspace(client, f, name: "mine", token: f.member.token)
            try await Self.complete(store, jobID: workspace.jobID)
            var buildIDs = [workspace.buildID]
            for transition in ["stop", "start"] {
                let posted = try await client.request(.post, "/api/v2/workspaces/\(workspace.id)/builds", json: ["transition": transition], token: f.member.token)
                try #require(posted.status == .created)
                buildIDs.append(try #require(UUID(uuidString: try posted.json["id"] as? String ?? "")))
                let job = try #require(try posted.json["job"] as? [String: Any])
                try await Self.complete(store, jobID: try #require(UUID(uuidString: job["id"] as? String ?? "")))
            }
            // A day apart, so that `since` has something to tell apart.
            for (index, id) in buildIDs.enumerated() {
                let binds: [any PostgresEncodable] = ["2024-01-0\(index + 1)T00:00:00Z", id]
                try await store.pool.query("UPDATE workspace_builds SET created_at = $1 WHERE id = $2", binds)
            }
            let path = "/api/v2/workspaces/\(workspace.id)/builds"
            func numbers(_ parameters: String, _ token: String? = nil) async throws -> [Int] {
                let response = try await client.request(.get, path + parameters, token: token ?? f.member.token)
                #expect(response.status == .ok, "\(parameters)")
                return try response.jsonArray.compactMap { $0["build_number"] as? Int }
            }
            #expect(try await numbers("") == [3, 2, 1])
            #expect(try await numbers("", f.owner.token) == [3, 2, 1])
            #expect(try await numbers("?limit=2") == [3, 2])
            #expect(try await numbers("?limit=2&offset=2") == [1])
            #expect(try await numbers("?limit=0&offset=1") == [2, 1])
            #expect(try await numbers("?offset=3") == [])
            // `after_id`: the builds numbered above that one's (Coder's reading, newer ones).
            #expect(try await numbers("?after_id=\(buildIDs[0])") == [3, 2])
            #expect(try await numbers("?after_id=\(buildIDs[2])") == [])
            #expect(try await numbers("?since=2024-01-01T12:00:00Z") == [3, 2])
            #expect(try await numbers("?since=2024-01-02T12:00:00.5%2B00:00") == [3])
            #expect(try await numbers("?since=2030-01-01T00:00:00Z") == [])

            // The shape `GET /workspacebuilds/{build}` answers.
            let listed = try await client.request(.get, path, token: f.member.token)
            #expect(listed.status == .ok)
            let newest = try #require(try listed.jsonArray.first)
            let single = try await client.request(.get, "/api/v2/workspacebuilds/\(buildIDs[2])", token: f.member.token)
            #expect(single.status == .ok)
            #expect(try Self.canonical(newest) == Self.canonical(try single.json))
            #expect(newest["id"] as? String == buildIDs[2].uuidString.lowercased())
            #expect(newest["status"] as? String == "running")

            let unknown = UUID()
            let missingAfter = try await client.request(.get, path + "?after_id=\(unknown)", token: f.member.token)
            #expect(missingAfter.status == .badRequest)
            #expect(try missingAfter.message == "Record at \"after_id\" (\"\(unknown.uuidString.lowercased())\") does not exist.")
            let badAfter = try await client.request(.get, path + "?after_id=nope", token: f.member.token)
            #expect(badAfter.status == .badRequest)
            #expect(try badAfter.validationFields == ["after_id"])
            let badSince = try await client.request(.get, path + "?since=yesterday", token: f.member.token)
            #expect(badSince.status == .badRequest)
            #expect(try badSince.message == "bad `since` format, must be RFC3339")
            let badLimit = try await client.request(.get, path + "?limit=-1", token: f.member.token)
            #expect(badLimit.status == .badRequest)
            #expect(try badLimit.validationFields == ["limit"])

            // Only whoever may read the workspace.
            let stranger = try await client.request(.get, path, token: other.token)
            #expect(stranger.status == .notFound)
            #expect(try stranger.message == "Resource not found or you do not have access to this resource")
            #expect(try await client.request(.get, "/api/v2/workspaces/\(UUID())/builds", token: f.owner.token).status == .notFound)
            let malformed = try await client.request(.get, "/api/v2/workspaces/nope/builds", token: f.owner.token)
            #expect(malformed.status == .badRequest)
            #expect(try malformed.message == "Invalid UUID \"nope\".")
            #expect(try await client.request(.get, path).status == .unauthorized)

            // A deleted workspace's builds stay listed, as in Coder.
            try await store.pool.query("UPDATE workspaces SET deleted = true WHERE id = $1", [workspace.id])
            #expect(try await numbers("") == [3, 2, 1])
        }
    }
}

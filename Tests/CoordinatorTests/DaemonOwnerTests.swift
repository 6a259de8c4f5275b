import Foundation
import Postgres
import ProvisionerProtocol
import TestSupport
import Testing
import WebSocket

/// Whose a daemon name is (each owner has their own under a name), and whose daemon takes a build
/// (the workspace owner's, for a user-scoped version).
@Suite struct DaemonOwnerTests: ProvisioningSuite {
    /// Names are keyed by organization, name and owner (Coder's
    /// `idx_provisioner_daemons_org_name_owner_key`). Before, a member's user daemon that connected
    /// once as `provisioner-1` made the organization's daemon of that name get 409 for good.
    @Test func aUserDaemonsNameDoesNotBlockTheOrganizationsDaemonOrAnotherUsers() async throws {
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            let bobToken = try await memberToken(setup, name: "bob")
            let carolToken = try await memberToken(setup, name: "carol")
            let bobID = try await sessionUserID(setup, token: bobToken)
            let carolID = try await sessionUserID(setup, token: carolToken)

            // A member's user daemon takes the name first (the default name is the host name).
            let (bob, bobWelcome) = try await hostile(a, name: "provisioner-1", instanceID: "bob-laptop", tags: ["scope=user"], token: bobToken)
            // The organization's daemon of that name connects all the same, under a row of its own…
            let (organizationDaemon, organizationWelcome) = try await hostile(a, name: "provisioner-1", instanceID: "org-host")
            // …and so does another user's.
            let (carol, carolWelcome) = try await hostile(a, name: "provisioner-1", instanceID: "carol-laptop", tags: ["scope=user"], token: carolToken)
            #expect(Set([bobWelcome.daemonID, organizationWelcome.daemonID, carolWelcome.daemonID]).count == 3)

            // All three are listed, connected, each with its owner.
            let listed = try await daemonList(setup, at: a).filter { $0["name"] as? String == "provisioner-1" }
            #expect(listed.count == 3, "\(listed)")
            #expect(Set(listed.compactMap { $0["id"] as? String }) == Set([bobWelcome, organizationWelcome, carolWelcome].map { $0.daemonID.uuidString.lowercased() }))
            #expect(Set(listed.compactMap { ($0["tags"] as? [String: String])?["owner"] }) == ["", bobID, carolID])
            #expect(listed.allSatisfy { $0["status"] as? String == "idle" }, "\(listed)")

            // Another owner never took over a live daemon: the first connection is still open and
            // still bob's (a waiting acquire is answered on it).
            try await bob.send(.acquire(id: 1))
            try await bob.send(.cancelAcquire(id: 1))
            guard case .acquireCanceled = try await bob.reply(to: 1) else { Issue.record("bob's connection was disturbed"); return }

            // Within one owner the rule is as before: another process of bob's under that name is
            // refused while bob's daemon is connected…
            let path = ProvisionerServe.path(organization: "default")
            let twin = try await RawHTTP.upgrade(port: a.port, path: "\(path)?provisioner=echo&tag=scope=user&name=provisioner-1&instance_id=bob-desktop", headers: [("Coder-Session-Token", bobToken)])
            #expect(twin.status == 409, "\(twin.body)")
            #expect(try twin.message?.contains("already connected from another process") == true, "\(twin.body)")
            // …and the same process reconnecting keeps bob's id and replaces his older connection.
            let (bobAgain, bobAgainWelcome) = try await hostile(a, name: "provisioner-1", instanceID: "bob-laptop", tags: ["scope=user"], token: bobToken)
            #expect(bobAgainWelcome.daemonID == bobWelcome.daemonID)
            #expect(await bob.closed().code == .policyViolation)

            // The organization's daemon of that name runs the organization's jobs.
            let versionID = try await postImport(setup, through: a, manifest: ["resources": []])
            let importJob = try await acquire(organizationDaemon, id: 2)
            #expect(importJob.lease.daemonID == organizationWelcome.daemonID)
            #expect(importJob.type == "template_version_import")
            try await organizationDaemon.send(.complete(id: 3, lease: importJob.lease, result: JobResult(resources: [])))
            guard case .done = try await organizationDaemon.reply(to: 3) else { Issue.record("the organization daemon could not complete"); return }
            #expect(try await job(setup, versionID, at: a)["worker_id"] as? String == organizationWelcome.daemonID.uuidString.lowercased())

            await bobAgain.close()
            await carol.close()
            await organizationDaemon.close()
        }
    }

    /// A build's job tags are the template version's with the owner tag rewritten to the
    /// workspace's owner (Coder's `MutateTags(workspace.OwnerID, tags)`). Before, they were copied
    /// from the import job, owner included, so alice's build of a user-scoped version went to its
    /// author's personal daemon.
    @Test func aBuildOfAUserScopedVersionWaitsForTheWorkspaceOwnersDaemonNotTheAuthors() async throws {
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            let authorID = try await sessionUserID(setup, token: setup.cluster.token)
            let aliceToken = try await memberToken(setup, name: "alice")
            let aliceID = try await sessionUserID(setup, token: aliceToken)

            // The author (the owner) runs a user-scoped daemon and imports a user-scoped version on it.
            let (author, authorWelcome) = try await hostile(a, name: "author-laptop", tags: ["scope=user"], token: setup.cluster.token)
            let versionID = try await postImport(setup, through: a, manifest: ["resources": []], tags: ["scope": "user"])
            #expect(try await job(setup, versionID, at: a)["tags"] as? [String: String] == ["scope": "user", "owner": authorID])
            let importJob = try await acquire(author, id: 1)
            try await author.send(.complete(id: 2, lease: importJob.lease, result: JobResult(resources: [])))
            guard case .done = try await author.reply(to: 2) else { Issue.record("import not done"); return }
            let template = try await HTTP.request(.POST, "\(a.base)/api/v2/organizations/\(setup.organizationID)/templates", json: [
                "name": "personal", "template_version_id": versionID,
            ], token: setup.cluster.token)
            #expect(template.status == 201, "\(String(decoding: template.body, as: UTF8.self))")
            let templateID = try #require(try template.json["id"] as? String)

            // Alice, a member, creates a workspace from it: the build's job is hers.
            let workspace = try await HTTP.request(.POST, "\(a.base)/api/v2/organizations/\(setup.organizationID)/members/me/workspaces", json: [
                "name": "alices", "template_id": templateID,
            ], token: aliceToken)
            #expect(workspace.status == 201, "\(String(decoding: workspace.body, as: UTF8.self))")
            let workspaceID = try #require(try workspace.json["id"] as? String)
            let buildJob = try #require(try (workspace.json["latest_build"] as? [String: Any])?["job"] as? [String: Any])
            let buildJobID = try #require((buildJob["id"] as? String).flatMap(UUID.init(uuidString:)))
            #expect(buildJob["tags"] as? [String: String] == ["scope": "user", "owner": aliceID])
            // No daemon can take it yet: the author's is no match.
            #expect((buildJob["matched_provisioners"] as? [String: Any])?["count"] as? Int == 0, "\(buildJob)")

            // The acquire query's own rule, on the rows: the author's daemon does not match the build.
            let pool = database(setup)
            let authorMatches = try await pool.query(
                "SELECT provisioner_tagset_contains(d.tags, j.tags) FROM provisioner_daemons d, provisioner_jobs j WHERE d.id = $1 AND j.id = $2",
                [authorWelcome.daemonID, buildJobID]
            ).first?.decode(0, as: Bool.self)
            #expect(authorMatches == false)

            // The author's idle daemon passes it by: the queue is served oldest first, and its next
            // acquire gets a job posted after alice's build.
            let laterVersionID = try await postImport(setup, through: a, manifest: ["resources": []], tags: ["scope": "user"])
            let laterJobID = try #require((try await job(setup, laterVersionID, at: a)["id"] as? String).flatMap(UUID.init(uuidString:)))
            let taken = try await acquire(author, id: 3)
            try #require(taken.lease.jobID == laterJobID, "the author's daemon took \(taken.lease.jobID) (alice's build is \(buildJobID))")
            try await author.send(.complete(id: 4, lease: taken.lease, result: JobResult(resources: [])))
            guard case .done = try await author.reply(to: 4) else { Issue.record("later import not done"); return }
            let pending = try #require(try await pool.query(
                "SELECT started_at IS NULL, worker_id IS NULL FROM provisioner_jobs WHERE id = $1", [buildJobID]
            ).first)
            #expect(try pending.decode(0, as: Bool.self))
            #expect(try pending.decode(1, as: Bool.self))

            // Alice's own user daemon takes it.
            let (alicesDaemon, aliceWelcome) = try await hostile(a, name: "alice-laptop", tags: ["scope=user"], token: aliceToken)
            let build = try await acquire(alicesDaemon, id: 1)
            #expect(build.lease.jobID == buildJobID)
            #expect(build.lease.daemonID == aliceWelcome.daemonID)
            #expect(build.type == "workspace_build")
            try await alicesDaemon.send(.complete(id: 2, lease: build.lease, result: JobResult(resources: [])))
            guard case .done = try await alicesDaemon.reply(to: 2) else { Issue.record("alice's build not done"); return }

            // A build of her workspace that someone else starts (the owner stops it) is still hers.
            let stop = try await HTTP.request(.POST, "\(a.base)/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": "stop"], token: setup.cluster.token)
            #expect(stop.status == 201, "\(String(decoding: stop.body, as: UTF8.self))")
            let stopJob = try #require(try stop.json["job"] as? [String: Any])
            #expect(stopJob["tags"] as? [String: String] == ["scope": "user", "owner": aliceID])
            #expect(try stop.json["initiator_id"] as? String == authorID)
            let stopBuild = try await acquire(alicesDaemon, id: 3)
            #expect(stopBuild.lease.jobID.uuidString.lowercased() == stopJob["id"] as? String)
            #expect(stopBuild.transition == "stop")
            try await alicesDaemon.send(.complete(id: 4, lease: stopBuild.lease, result: JobResult(resources: [])))
            guard case .done = try await alicesDaemon.reply(to: 4) else { Issue.record("alice's stop not done"); return }

            await pool.close()
            await alicesDaemon.close()
            await author.close()
        }
    }
}

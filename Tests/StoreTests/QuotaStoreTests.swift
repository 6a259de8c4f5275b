import Foundation
import Postgres
import Store
import Testing

/// Workspace quotas in the Store: the budget's explanation, consumption, and `commitQuota`'s
/// decisions (serialized per owner and organization, a rebuild measured against its previous build).
@Suite struct QuotaStoreTests {
    /// An organization with its owner, a template, and SQL helpers for groups and leases (groups
    /// are made with plain SQL, not through the groups Store functions).
    struct Fixture {
        let store: Store
        let owner: User
        let organization: Organization
        let template: Template
        let version: TemplateVersion
        let fileID: UUID

        static func make(_ store: Store) async throws -> Fixture {
            let (owner, organization) = try await store.createFirstUser(
                NewUser(email: "owner@example.com", username: "owner", hashedPassword: "", siteRoles: ["owner"], organizationID: nil),
                organizationName: "acme"
            )
            let fileID = try await store.insertFile(hash: "h", createdBy: owner.id, mimetype: "application/x-tar", data: [1, 2, 3])
            let version = try await store.createTemplateVersion(name: "v1", templateID: nil, job: NewProvisionerJob(
                organizationID: organization.id, initiatorID: owner.id, provisioner: "echo", type: .templateVersionImport, fileID: fileID,
                input: "{}", tags: ["scope": "organization", "owner": ""]
            ))
            let template = try await store.createTemplate(
                organizationID: organization.id, name: "base", displayName: "", description: "", versionID: version.id,
                provisioner: "echo", createdBy: owner.id
            )
            return Fixture(store: store, owner: owner, organization: organization, template: template, version: version, fileID: fileID)
        }

        func job(_ user: User? = nil) -> NewProvisionerJob {
            NewProvisionerJob(
                organizationID: organization.id, initiatorID: (user ?? owner).id, provisioner: "echo", type: .workspaceBuild, fileID: fileID,
                input: "{}", tags: ["scope": "organization", "owner": ""]
            )
        }

        func member(_ name: String) async throws -> User {
            try await store.createUser(NewUser(email: "\(name)@example.com", username: name, hashedPassword: "", organizationID: organization.id))
        }

        func workspace(_ name: String, of user: User? = nil) async throws -> (Workspace, WorkspaceBuild) {
            try await store.createWorkspace(
                ownerID: (user ?? owner).id, organizationID: organization.id, templateID: template.id, versionID: version.id, name: name, job: job(user)
            )
        }

        func build(_ workspace: Workspace, _ transition: String) async throws -> WorkspaceBuild {
            try await store.createBuild(workspaceID: workspace.id, versionID: version.id, transition: transition, job: job())
        }

        /// Leases the build's job to a daemon, as an acquire would.
        func lease(_ build: WorkspaceBuild) async throws -> JobLease {
            let lease = JobLease(jobID: build.jobID, daemonID: UUID(), epoch: 1)
            try await store.pool.query(
                "UPDATE provisioner_jobs SET started_at = now(), lease_daemon_id = $2, lease_epoch = 1 WHERE id = $1", [lease.jobID, lease.daemonID]
            )
            return lease
        }

        func commit(_ build: WorkspaceBuild, _ cost: Int64, enforce: Bool = true) async throws -> QuotaDecision {
            try await store.commitQuota(try await lease(build), connectionID: nil, dailyCost: cost, enforce: enforce)
        }

        /// Commits and completes the build at `cost`.
        func run(_ build: WorkspaceBuild, _ cost: Int64) async throws -> QuotaDecision {
            let lease = try await lease(build)
            let decision = try await store.commitQuota(lease, connectionID: nil, dailyCost: cost, enforce: true)
            try await store.finishJob(lease, connectionID: nil, decision.ok ? .completed(result: "{}") : .failed(error: "insufficient quota", errorCode: nil))
            return decision
        }

        func setEveryone(_ allowance: Int) async throws {
            try await store.pool.query("UPDATE groups SET quota_allowance = $2 WHERE id = $1", [organization.id, Int32(allowance)])
        }

        @discardableResult
        func group(_ name: String, allowance: Int, members: [User], organizationID: UUID? = nil) async throws -> UUID {
            let id = UUID()
            try await store.pool.query(
                "INSERT INTO groups (id, name, organization_id, quota_allowance) VALUES ($1, $2, $3, $4)",
                [id, name, organizationID ?? organization.id, Int32(allowance)]
            )
            for member in members {
                try await store.pool.query("INSERT INTO group_members (user_id, group_id) VALUES ($1, $2)", [member.id, id])
            }
            return id
        }
    }

    @Test func theBudgetIsExplainedByTheUsersGroupsInThatOrganizationEveryoneIncluded() async throws {
        try await withStore { store, _ in
            let f = try await Fixture.make(store)
            let ann = try await f.member("ann")
            try await f.setEveryone(5)
            let devs = try await f.group("devs", allowance: 10, members: [ann])
            try await f.group("ops", allowance: 100, members: [f.owner])
            // Another organization's Everyone group and groups do not count (v0.17 added every
            // organization's Everyone).
            let other = UUID()
            try await store.pool.query("INSERT INTO organizations (id, name) VALUES ($1, 'other')", [other])
            try await store.pool.query("INSERT INTO groups (id, name, organization_id, quota_allowance) VALUES ($1, 'Everyone', $1, 1000)", [other])
            try await store.pool.query("INSERT INTO organization_members (user_id, organization_id) VALUES ($1, $2)", [ann.id, other])
            try await f.group("elsewhere", allowance: 7, members: [ann], organizationID: other)

            let quota = try await store.quota(userID: ann.id, organizationID: f.organization.id)
            #expect(quota.allowances == [
                QuotaAllowance(groupID: f.organization.id, groupName: "Everyone", quotaAllowance: 5),
                QuotaAllowance(groupID: devs, groupName: "devs", quotaAllowance: 10),
            ])
            #expect(quota.budget == 15)
            #expect(quota.creditsConsumed == 0)
            #expect(try await store.quota(userID: ann.id, organizationID: other).budget == 1007)
            // Not a member of an organization: not in its Everyone group either.
            let stranger = try await store.createUser(NewUser(email: "s@example.com", username: "s", hashedPassword: "", organizationID: nil))
            #expect(try await store.quota(userID: stranger.id, organizationID: f.organization.id).allowances == [])
        }
    }

    @Test func consumptionIsTheLatestBuildOfEachLiveWorkspaceOfThatUser() async throws {
        try await withStore { store, _ in
            let f = try await Fixture.make(store)
            try await f.setEveryone(100)
            let (a, first) = try await f.workspace("a")
            #expect(try await f.run(first, 10).ok)
            // A stop keeps what it commits (its persistent resources), replacing the start's cost.
            #expect(try await f.run(try await f.build(a, "stop"), 2).ok)
            let (_, b) = try await f.workspace("b")
            #expect(try await f.run(b, 7).ok)
            // Another user's workspaces are theirs.
            let ann = try await f.member("ann")
            let (_, annsBuild) = try await f.workspace("c", of: ann)
            #expect(try await f.run(annsBuild, 50).ok)
            #expect(try await store.quota(userID: f.owner.id, organizationID: f.organization.id).creditsConsumed == 9)
            // A deleted workspace costs nothing; a delete commits nothing and is always allowed.
            let deletion = try await f.build(a, "delete")
            try await f.setEveryone(0)
            #expect(try await f.run(deletion, 0) == QuotaDecision(ok: true, creditsConsumed: 7, budget: 0))
            #expect(try await store.quota(userID: f.owner.id, organizationID: f.organization.id).creditsConsumed == 7)
        }
    }

    @Test func aBuildOverTheBudgetIsRefusedAndStoresNothing() async throws {
        try await withStore { store, _ in
            let f = try await Fixture.make(store)
            try await f.setEveryone(10)
            let (_, first) = try await f.workspace("a")
            #expect(try await f.run(first, 6) == QuotaDecision(ok: true, creditsConsumed: 6, budget: 10))
            let (_, second) = try await f.workspace("b")
            #expect(try await f.run(second, 5) == QuotaDecision(ok: false, creditsConsumed: 6, budget: 10))
            #expect(try await store.build(id: second.id)?.dailyCost == 0)
            let (_, third) = try await f.workspace("c")
            #expect(try await f.run(third, 4) == QuotaDecision(ok: true, creditsConsumed: 10, budget: 10))
            // Not enforced (template RBAC off): allowed, budget −1, the cost still counted.
            let (_, fourth) = try await f.workspace("d")
            #expect(try await f.commit(fourth, 3, enforce: false) == QuotaDecision(ok: true, creditsConsumed: 13, budget: -1))
        }
    }

    @Test func aRebuildAtAHigherCostIsAnIncreaseAndReplacesThePreviousCost() async throws {
        try await withStore { store, _ in
            let f = try await Fixture.make(store)
            try await f.setEveryone(10)
            let (a, first) = try await f.workspace("a")
            #expect(try await f.run(first, 8).ok)
            // The workspace's previous 8 is replaced, not added to: 9 fits in 10.
            #expect(try await f.run(try await f.build(a, "start"), 9) == QuotaDecision(ok: true, creditsConsumed: 9, budget: 10))
            // v0.17 let any rebuild through; 11 is an increase over 9 and over the budget.
            let higher = try await f.build(a, "start")
            #expect(try await f.run(higher, 11) == QuotaDecision(ok: false, creditsConsumed: 0, budget: 10))
            // Refused, the build keeps the cost it started with, the previous build's: the
            // workspace's resources are still those, and a second workspace cannot take their share.
            #expect(try await store.build(id: higher.id)?.dailyCost == 9)
            let (_, b) = try await f.workspace("b")
            #expect(try await f.run(b, 2).ok == false)
            // The allowance lowered below what is used: the same cost again is refused, a lower one
            // (a stop keeping a disk) passes even over the budget.
            try await f.setEveryone(1)
            #expect(try await f.run(try await f.build(a, "start"), 9).ok == false)
            #expect(try await f.run(try await f.build(a, "stop"), 2) == QuotaDecision(ok: true, creditsConsumed: 2, budget: 1))
        }
    }

    @Test func concurrentCommitsNeverExceedTheBudget() async throws {
        try await withStore { store, _ in
            let f = try await Fixture.make(store)
            try await f.setEveryone(25)
            var leases: [JobLease] = []
            for index in 0..<20 {
                let (_, build) = try await f.workspace("w\(index)")
                leases.append(try await f.lease(build))
            }
            let decisions = try await withThrowingTaskGroup(of: QuotaDecision.self) { group in
                for lease in leases {
                    group.addTask { try await store.commitQuota(lease, connectionID: nil, dailyCost: 3, enforce: true) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(decisions.filter(\.ok).count == 8)
            #expect(decisions.filter(\.ok).map(\.creditsConsumed).sorted() == Array(stride(from: 3, through: 24, by: 3)).map(Int64.init))
            #expect(try await store.quota(userID: f.owner.id, organizationID: f.organization.id).creditsConsumed == 24)
        }
    }

    @Test func aCommitNeedsTheLeaseHeldAndTheJobRunning() async throws {
        try await withStore { store, _ in
            let f = try await Fixture.make(store)
            let (_, build) = try await f.workspace("a")
            let lease = try await f.lease(build)
            let stale = JobLease(jobID: lease.jobID, daemonID: lease.daemonID, epoch: 2)
            await #expect(throws: LeaseError.stale) { try await store.commitQuota(stale, connectionID: nil, dailyCost: 1, enforce: true) }
            await #expect(throws: LeaseError.stale) { try await store.commitQuota(lease, connectionID: UUID(), dailyCost: 1, enforce: true) }
            try await store.finishJob(lease, connectionID: nil, .completed(result: "{}"))
            await #expect(throws: LeaseError.stale) { try await store.commitQuota(lease, connectionID: nil, dailyCost: 1, enforce: true) }
        }
    }
}

import Foundation
import Provisioning
import ProvisionerProtocol
import Testing

@Suite struct WaiterGroupsTests {
    let organization = UUID()
    let defaults = [ProvisionerTags.scope: ProvisionerTags.organizationScope, ProvisionerTags.owner: ""]

    func key(_ provisioners: [String] = ["echo"], tags: [String: String]? = nil, organization: UUID? = nil) -> WaiterGroups<Int>.Key {
        .init(organizationID: organization ?? self.organization, provisioners: provisioners, tags: tags ?? defaults)
    }

    @Test func aPostWakesOneWaiterOfEachGroupThatCanRunIt() {
        var groups = WaiterGroups<Int>()
        let region = defaults.merging(["region": "eu"]) { $1 }
        for id in 1...3 { groups.add(Int(id), id: UInt64(id), key: key()) }
        groups.add(10, id: 10, key: key(tags: region))
        groups.add(20, id: 20, key: key(["terraform"]))
        groups.add(30, id: 30, key: key(organization: UUID()))
        #expect(groups.count == 6)
        #expect(groups.groupCount == 4)
        // Default tags: only daemons with exactly the default tags.
        #expect(groups.takeOneEach(organizationID: organization, provisioner: "echo", tags: defaults) == [1])
        // A tagged job: every group whose tags contain the job's.
        #expect(groups.takeOneEach(organizationID: organization, provisioner: "echo", tags: ["region": "eu"]) == [10])
        #expect(groups.takeOneEach(organizationID: organization, provisioner: "echo", tags: ["region": "us"]) == [])
        // The longest waiter goes first.
        #expect(groups.takeFirst(of: key()) == 2)
        #expect(groups.count == 3)
    }

    @Test func removalAndEmptyGroupsDisappear() {
        var groups = WaiterGroups<Int>()
        groups.add(1, id: 1, key: key())
        groups.add(2, id: 2, key: key())
        #expect(groups.remove(id: 1, key: key()) == 1)
        #expect(groups.remove(id: 1, key: key()) == nil)
        #expect(groups.remove(id: 2, key: key(["terraform"])) == nil)
        #expect(groups.remove(id: 2, key: key()) == 2)
        #expect(groups.groupCount == 0)
        #expect(groups.takeFirst(of: key()) == nil)
    }

    @Test func aResyncWakesOneOfEveryGroupAndShutdownTakesAll() {
        var groups = WaiterGroups<Int>()
        groups.add(1, id: 1, key: key())
        groups.add(2, id: 2, key: key())
        groups.add(3, id: 3, key: key(["terraform"]))
        #expect(Set(groups.takeOneOfEveryGroup()) == [1, 3])
        groups.add(4, id: 4, key: key(["terraform"]))
        #expect(Set(groups.takeAll()) == [2, 4])
        #expect(groups.count == 0)
    }

    @Test func keysIgnoreTheOrderOfProvisioners() {
        #expect(key(["terraform", "echo"]) == key(["echo", "terraform"]))
    }
}

@Suite struct ProvisionerTagsTests {
    @Test func normalizationFollowsCoder() {
        let user = UUID()
        #expect(ProvisionerTags.normalize([:], userID: user) == ["scope": "organization", "owner": ""])
        #expect(ProvisionerTags.normalize(["scope": "organization", "owner": "someone"], userID: user) == ["scope": "organization", "owner": ""])
        #expect(ProvisionerTags.normalize(["scope": "user", "owner": "someone else"], userID: user) == ["scope": "user", "owner": user.uuidString.lowercased()])
        #expect(ProvisionerTags.normalize(["scope": "bogus"], userID: nil) == ["scope": "organization", "owner": ""])
    }

    /// Issue 20, finding 6: a build's owner tag is the workspace's owner, never the author of the
    /// template version (whose import job's tags the build starts from).
    @Test func aBuildsTagsBelongToTheWorkspacesOwner() {
        let author = UUID()
        let alice = UUID()
        let userScoped = ProvisionerTags.normalize(["scope": "user", "region": "eu"], userID: author)
        #expect(userScoped["owner"] == author.uuidString.lowercased())

        let build = ProvisionerTags.forBuild(versionTags: userScoped, workspaceOwnerID: alice)
        #expect(build == ["scope": "user", "owner": alice.uuidString.lowercased(), "region": "eu"])
        // The author's daemon cannot take it; alice's user daemon (same other tags) can.
        let authorsDaemon = ProvisionerTags.normalize(["scope": "user", "region": "eu"], userID: author)
        let alicesDaemon = ProvisionerTags.normalize(["scope": "user", "region": "eu"], userID: alice)
        #expect(!ProvisionerTags.contains(daemon: authorsDaemon, job: build))
        #expect(ProvisionerTags.contains(daemon: alicesDaemon, job: build))

        // Organization scope (given or implied, or an unknown scope): the owner is empty, whoever
        // owns the workspace, so the organization's daemons take it.
        let organizationDefaults = ["scope": "organization", "owner": ""]
        #expect(ProvisionerTags.forBuild(versionTags: organizationDefaults, workspaceOwnerID: alice) == organizationDefaults)
        #expect(ProvisionerTags.forBuild(versionTags: [:], workspaceOwnerID: alice) == organizationDefaults)
        #expect(ProvisionerTags.forBuild(versionTags: ["scope": "bogus", "owner": author.uuidString], workspaceOwnerID: alice) == organizationDefaults)
        #expect(ProvisionerTags.forBuild(versionTags: ["scope": "organization", "owner": author.uuidString.lowercased(), "region": "eu"], workspaceOwnerID: alice)
            == ["scope": "organization", "owner": "", "region": "eu"])
        #expect(ProvisionerTags.contains(daemon: organizationDefaults, job: ProvisionerTags.forBuild(versionTags: organizationDefaults, workspaceOwnerID: alice)))
    }

    @Test func matchingFollowsCoder() {
        let defaults = ["scope": "organization", "owner": ""]
        #expect(ProvisionerTags.contains(daemon: defaults, job: defaults))
        #expect(!ProvisionerTags.contains(daemon: defaults.merging(["region": "eu"]) { $1 }, job: defaults))
        #expect(ProvisionerTags.contains(daemon: defaults.merging(["region": "eu"]) { $1 }, job: ["region": "eu"]))
        #expect(!ProvisionerTags.contains(daemon: defaults, job: ["region": "eu"]))
    }
}

@Suite struct ProvisionerCodingTests {
    let lease = Lease(jobID: UUID(), daemonID: UUID(), epoch: 3)

    @Test func everyDaemonMessageRoundTrips() throws {
        let messages: [DaemonMessage] = [
            .hello(Hello(daemonVersion: "1.0")), .acquire(id: 1), .cancelAcquire(id: 1), .resume(id: 2, lease: lease),
            .update(id: 3, lease: lease, logs: [LogLine(level: "warn", stage: "Plan", output: "x", createdAt: Date(timeIntervalSince1970: 1_700_000_000))]),
            .commitQuota(id: 4, lease: lease, dailyCost: Int64(Int32.max) * 2),
            .complete(id: 5, lease: lease, result: JobResult(resources: [Resource(name: "a", type: "vm", dailyCost: 7)], state: "c3Q=")),
            .fail(id: 6, lease: lease, error: "boom", state: nil),
        ]
        for message in messages {
            #expect(try ProvisionerCoding.decodeDaemonMessage(ProvisionerCoding.encode(message)) == message)
        }
    }

    @Test func everyCoordinatorMessageRoundTrips() throws {
        let job = AcquiredJob(lease: lease, type: "workspace_build", provisioner: "echo", archive: "YQ==", transition: "start", state: nil, canceled: false)
        let messages: [CoordinatorMessage] = [
            .welcome(Welcome(version: 1, daemonID: UUID(), replicaID: UUID())), .job(id: 1, job: job), .acquireCanceled(id: 1),
            .updated(id: 2, canceled: true), .quota(id: 3, ok: false, creditsConsumed: 1 << 40, budget: 1 << 41), .done(id: 4),
            .cancel(jobID: UUID()), .error(id: nil, code: .staleLease, message: "m"), .error(id: 9, code: .badRequest, message: "n"),
        ]
        for message in messages {
            #expect(try ProvisionerCoding.decodeCoordinatorMessage(ProvisionerCoding.encode(message)) == message)
        }
    }

    @Test func malformedMessagesSayWhatIsWrong() {
        let cases: [(String, String)] = [
            (#"{"type":"acquire"}"#, "\"acquire\" needs an \"id\""),
            (#"{"type":"update","id":1}"#, "\"update\" needs a \"lease\""),
            (#"{"type":"commit_quota","id":1,"lease":{"job_id":"\#(UUID())","daemon_id":"\#(UUID())","epoch":1},"daily_cost":-1}"#, "non-negative"),
            (#"{"type":"fail","id":1,"lease":{"job_id":"\#(UUID())","daemon_id":"\#(UUID())","epoch":1},"error":""}"#, "needs an \"error\""),
            (#"{"type":"nope"}"#, "unknown message type"),
            (#"{"type":"acquire","id":"one"}"#, "not a protocol message"),
            ("[]", "not a protocol message"),
        ]
        for (text, expected) in cases {
            #expect(throws: ProvisionerCoding.DecodingFailure.self) { try ProvisionerCoding.decodeDaemonMessage(text) }
            do {
                _ = try ProvisionerCoding.decodeDaemonMessage(text)
            } catch {
                #expect(error.description.contains(expected), "\(text): \(error.description)")
            }
        }
    }

    @Test func anEpochOrIdOutOfRangeIsADecodingFailure() {
        let text = #"{"type":"resume","id":1,"lease":{"job_id":"\#(UUID())","daemon_id":"\#(UUID())","epoch":99999999999}}"#
        #expect(throws: ProvisionerCoding.DecodingFailure.self) { try ProvisionerCoding.decodeDaemonMessage(text) }
        #expect(throws: ProvisionerCoding.DecodingFailure.self) { try ProvisionerCoding.decodeDaemonMessage(#"{"type":"acquire","id":1e40}"#) }
    }
}

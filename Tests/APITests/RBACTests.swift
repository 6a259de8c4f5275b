@testable import API
import Foundation
import Testing

@Suite struct RBACTests {
    let org = UUID(), otherOrg = UUID()

    func subject(_ roles: Set<String>, orgs: [UUID]) -> Subject {
        Subject(userID: UUID(), username: "s", siteRoles: roles, organizations: Dictionary(uniqueKeysWithValues: orgs.map { ($0, []) }), apiKeyID: "k")
    }

    @Test func ownersMayDoEverything() {
        let owner = subject(["owner"], orgs: [])
        for resource in [Resource.replicas, .deploymentConfig, .organization(id: otherOrg), .user(id: UUID(), organizations: []), .apiKey(owner: UUID())] {
            for action in [Action.read, .create, .update, .delete] {
                #expect(RBAC.can(owner, action, resource))
            }
        }
    }

    @Test func membersReadTheirOrganizationsAndItsMembersOnly() {
        let member = subject([], orgs: [org])
        #expect(RBAC.can(member, .read, .organization(id: org)))
        #expect(!RBAC.can(member, .read, .organization(id: otherOrg)))
        #expect(RBAC.can(member, .read, .user(id: UUID(), organizations: [org])))
        #expect(!RBAC.can(member, .read, .user(id: UUID(), organizations: [otherOrg])))
        #expect(!RBAC.can(member, .update, .user(id: UUID(), organizations: [org])))
        #expect(!RBAC.can(member, .read, .replicas))
        #expect(RBAC.can(member, .create, .apiKey(owner: member.userID)))
        #expect(!RBAC.can(member, .create, .apiKey(owner: UUID())))
    }

    @Test func userAdminsAdministerNonOwners() {
        let admin = subject(["user-admin"], orgs: [])
        #expect(RBAC.can(admin, .create, .user(id: UUID(), organizations: [])))
        #expect(RBAC.can(admin, .update, .userAdministration(id: UUID(), isOwner: false)))
        #expect(!RBAC.can(admin, .update, .userAdministration(id: UUID(), isOwner: true)))
        #expect(!RBAC.can(admin, .update, .userAdministration(id: admin.userID, isOwner: false)))
        #expect(!RBAC.can(admin, .read, .replicas))
    }

    /// The workspace list's scope is `can(.read, .workspace)` of each workspace: owners, template
    /// admins and auditors list every one, anyone else their own (in any organization).
    @Test func theWorkspaceScopeIsTheReadRuleOfEachWorkspace() {
        let roleSets: [Set<String>] = [[], ["owner"], ["template-admin"], ["auditor"], ["user-admin"]]
        for roles in roleSets {
            let viewer = subject(roles, orgs: [org])
            let scope = RBAC.scope(viewer, reading: .workspaces)
            for (owner, organization) in [(viewer.userID, org), (viewer.userID, otherOrg), (UUID(), org), (UUID(), otherOrg)] {
                let listed = switch scope {
                case .all: true
                case .organizations(let organizations): organizations.contains(organization)
                case .own: owner == viewer.userID
                }
                #expect(listed == RBAC.can(viewer, .read, .workspace(owner: owner, organization: organization)), "\(roles), own: \(owner == viewer.userID), in their organization: \(organization == org)")
            }
        }
        #expect(RBAC.scope(subject([], orgs: [org]), reading: .workspaces) == .own)
        #expect(RBAC.scope(subject(["auditor"], orgs: []), reading: .workspaces) == .all)
    }

    @Test func usernamesFollowCodersRule() {
        for good in ["a", "alice", "a-b-c", "A1", String(repeating: "x", count: 32)] { #expect(Names.isValidUsername(good), "\(good)") }
        for bad in ["", "-a", "a-", "a--b", "a b", "ä", "a_b", "me", "new", String(repeating: "x", count: 33)] { #expect(!Names.isValidUsername(bad), "\(bad)") }
    }

    @Test func passwordsVerifyOnlyTheRightSecret() throws {
        let hash = try Passwords.hash("Corr3ct-Horse!")
        #expect(Passwords.verify("Corr3ct-Horse!", against: hash))
        #expect(!Passwords.verify("Corr3ct-Horse?", against: hash))
        #expect(!Passwords.verify("Corr3ct-Horse!", against: "garbage"))
        #expect(Passwords.strengthProblem("password") != nil)
        #expect(Passwords.strengthProblem("Sup3r-Secret!") == nil)
    }
}

import Foundation
import HTTPTypes
import Store
import Testing
@testable import API

/// Template ACLs: the routes, and their enforcement on list, read and build while
/// `template_rbac` is enabled.
@Suite struct TemplateACLTests {
    struct Fixture {
        let owner: (token: String, userID: UUID, organizationID: UUID)
        let member: (token: String, id: UUID)
        let open: Template
        let hidden: Template
    }

    /// An owner, a member, a template Everyone may use and one nobody but admins may.
    static func fixture(_ client: TestClient, _ store: Store, licensed: Bool = true) async throws -> Fixture {
        let owner = licensed ? try await licensedOwner(client) : try await client.setUpOwner()
        let member = try await client.createMember("member", organizationID: owner.organizationID, token: owner.token)
        let fileID = try await store.insertFile(hash: "h", createdBy: owner.userID, mimetype: "application/x-tar", data: [1])
        let version = try await store.createTemplateVersion(name: "v1", templateID: nil, job: NewProvisionerJob(
            organizationID: owner.organizationID, initiatorID: owner.userID, provisioner: "echo", type: .templateVersionImport,
            fileID: fileID, input: "{}", tags: ["scope": "organization", "owner": ""]
        ))
        func template(_ name: String, everyone: Bool) async throws -> Template {
            try await store.createTemplate(
                organizationID: owner.organizationID, name: name, displayName: "", description: "", versionID: version.id,
                provisioner: "echo", createdBy: owner.userID, everyoneAccess: everyone
            )
        }
        return Fixture(owner: owner, member: member, open: try await template("open", everyone: true), hidden: try await template("hidden", everyone: false))
    }

    func names(_ client: TestClient, _ fixture: Fixture, _ token: String) async throws -> [String] {
        let response = try await client.request(.get, "/api/v2/organizations/\(fixture.owner.organizationID)/templates", token: token)
        #expect(response.status == .ok)
        return try response.jsonArray.compactMap { $0["name"] as? String }
    }

    @Test func aMemberSeesOnlyTemplatesTheirACLEntriesGrant() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            #expect(try await names(client, f, f.member.token) == ["open"])
            #expect(try await names(client, f, f.owner.token) == ["hidden", "open"])
            // Hidden is missing, not forbidden.
            #expect(try await client.request(.get, "/api/v2/templates/\(f.hidden.id)", token: f.member.token).status == .notFound)
            let build = try await client.request(.post, "/api/v2/organizations/\(f.owner.organizationID)/members/me/workspaces", json: [
                "template_id": f.hidden.id.uuidString, "name": "ws",
            ], token: f.member.token)
            #expect(build.status == .notFound)
            #expect(try build.message == "Template with ID \"\(f.hidden.id.uuidString)\" not found.")

            // Through a group.
            let group = try await client.request(.post, "/api/v2/organizations/\(f.owner.organizationID)/groups", json: ["name": "devs"], token: f.owner.token)
            #expect(group.status == .created)
            let groupID = try #require(try group.json["id"] as? String)
            #expect(try await client.request(.patch, "/api/v2/groups/\(groupID)", json: ["add_users": [f.member.id.uuidString]], token: f.owner.token).status == .ok)
            let granted = try await client.request(.patch, "/api/v2/templates/\(f.hidden.id)/acl", json: ["group_perms": [groupID: "use"]], token: f.owner.token)
            #expect(granted.status == .ok)
            #expect(try granted.message == "Successfully updated template ACL list.")
            #expect(try await names(client, f, f.member.token) == ["hidden", "open"])
            let allowed = try await client.request(.post, "/api/v2/organizations/\(f.owner.organizationID)/members/me/workspaces", json: [
                "template_id": f.hidden.id.uuidString, "name": "ws",
            ], token: f.member.token)
            #expect(allowed.status == .created)
            // Taken away again: the member cannot start a build, but may delete the workspace.
            #expect(try await client.request(.patch, "/api/v2/templates/\(f.hidden.id)/acl", json: ["group_perms": [groupID: ""]], token: f.owner.token).status == .ok)
            let workspaceID = try #require(try allowed.json["id"] as? String)
            // (The first build is still active; the refusal comes before that check.)
            let start = try await client.request(.post, "/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": "start"], token: f.member.token)
            #expect(start.status == .forbidden)
            let delete = try await client.request(.post, "/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": "delete"], token: f.member.token)
            #expect(delete.status != .forbidden)
        }
    }

    /// A template's versions are the template's: hidden with it, pushed by its ACL admins.
    @Test func aHiddenTemplatesVersionsAreHiddenAndItsACLAdminsPushVersions() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let org = f.owner.organizationID.uuidString.lowercased()
            let fileID = try await store.insertFile(hash: "h2", createdBy: f.member.id, mimetype: "application/x-tar", data: [2])
            let version = try await store.createTemplateVersion(name: "v2", templateID: f.hidden.id, job: NewProvisionerJob(
                organizationID: f.owner.organizationID, initiatorID: f.owner.userID, provisioner: "echo", type: .templateVersionImport,
                fileID: fileID, input: "{}", tags: ["scope": "organization", "owner": ""]
            ))
            #expect(try await client.request(.get, "/api/v2/templateversions/\(version.id)", token: f.member.token).status == .notFound)
            #expect(try await client.request(.patch, "/api/v2/templateversions/\(version.id)/cancel", token: f.member.token).status == .notFound)
            #expect(try await client.request(.get, "/api/v2/templateversions/\(version.id)", token: f.owner.token).status == .ok)
            let push: [String: Any] = ["template_id": f.hidden.id.uuidString, "file_id": fileID.uuidString, "provisioner": "echo", "storage_method": "file"]
            let hidden = try await client.request(.post, "/api/v2/organizations/\(org)/templateversions", json: push, token: f.member.token)
            #expect(hidden.status == .notFound)
            #expect(try hidden.message == "Template with ID \"\(f.hidden.id.uuidString)\" not found.")
            // `use` (Everyone's, on the open template) reads versions but pushes none.
            var useOnly = push
            useOnly["template_id"] = f.open.id.uuidString
            #expect(try await client.request(.post, "/api/v2/organizations/\(org)/templateversions", json: useOnly, token: f.member.token).status == .forbidden)

            #expect(try await client.request(.patch, "/api/v2/templates/\(f.hidden.id)/acl", json: ["user_perms": [f.member.id.uuidString: "admin"]], token: f.owner.token).status == .ok)
            #expect(try await client.request(.get, "/api/v2/templateversions/\(version.id)", token: f.member.token).status == .ok)
            let pushed = try await client.request(.post, "/api/v2/organizations/\(org)/templateversions", json: push, token: f.member.token)
            #expect(pushed.status == .created)
            #expect(try pushed.json["template_id"] as? String == f.hidden.id.uuidString.lowercased())
            // Without a template, a version is still a template admin's to create.
            var bare = push
            bare["template_id"] = nil
            #expect(try await client.request(.post, "/api/v2/organizations/\(org)/templateversions", json: bare, token: f.member.token).status == .forbidden)
        }
    }

    /// `disable_everyone_group_access` over HTTP, and a template admin (not an owner) who sees
    /// every template and changes their ACLs.
    @Test func aTemplateCreatedWithoutEveryoneIsATemplateAdminsToShare() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let org = f.owner.organizationID.uuidString.lowercased()
            _ = try await store.createUser(NewUser(
                email: "ta@example.com", username: "templateadmin", hashedPassword: try Passwords.hash("An0ther-Passw0rd!", parameters: .testCost),
                siteRoles: ["template-admin"], organizationID: f.owner.organizationID
            ))
            let templateAdmin = try await client.login("ta@example.com", "An0ther-Passw0rd!")
            let fileID = try await store.insertFile(hash: "h3", createdBy: f.owner.userID, mimetype: "application/x-tar", data: [3])
            let version = try await store.createTemplateVersion(name: "v3", templateID: nil, job: NewProvisionerJob(
                organizationID: f.owner.organizationID, initiatorID: f.owner.userID, provisioner: "echo", type: .templateVersionImport,
                fileID: fileID, input: "{}", tags: ["scope": "organization", "owner": ""]
            ))
            try await store.pool.query("UPDATE provisioner_jobs SET started_at = now(), completed_at = now() WHERE id = $1", [version.jobID])
            let created = try await client.request(.post, "/api/v2/organizations/\(org)/templates", json: [
                "name": "private", "template_version_id": version.id.uuidString, "disable_everyone_group_access": true,
            ], token: templateAdmin)
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            #expect(try await names(client, f, f.member.token) == ["open"])
            #expect(try await names(client, f, templateAdmin) == ["hidden", "open", "private"])
            let noGroups = try await client.request(.get, "/api/v2/templates/\(id)/acl/groups", token: templateAdmin)
            #expect(noGroups.status == .ok)
            #expect(try noGroups.jsonArray.isEmpty)
            let shared = try await client.request(.patch, "/api/v2/templates/\(id)/acl", json: ["user_perms": [f.member.id.uuidString: "use"]], token: templateAdmin)
            #expect(shared.status == .ok)
            #expect(try await names(client, f, f.member.token) == ["open", "private"])
            // The member's `use` does not let them change the ACL.
            let refused = try await client.request(.patch, "/api/v2/templates/\(id)/acl", json: ["user_perms": [f.member.id.uuidString: "admin"]], token: f.member.token)
            #expect(refused.status == .forbidden)
            // Without the flag, Everyone gets `use`.
            let defaulted = try await client.request(.post, "/api/v2/organizations/\(org)/templates", json: [
                "name": "shared", "template_version_id": version.id.uuidString,
            ], token: templateAdmin)
            #expect(defaulted.status == .created)
            let groups = try await client.request(.get, "/api/v2/templates/\(try #require(try defaulted.json["id"] as? String))/acl/groups", token: templateAdmin)
            #expect(groups.status == .ok)
            #expect(try groups.jsonArray.map { $0["name"] as? String } == ["Everyone"])
            #expect(try groups.jsonArray.map { $0["role"] as? String } == ["use"])
            #expect(try await client.request(.get, "/api/v2/templates/\(id)/acl", token: f.member.token).status == .ok)
            #expect(try await client.request(.get, "/api/v2/templates/\(f.hidden.id)/acl", token: f.member.token).status == .notFound)
        }
    }

    @Test func theACLIsReadInTheSeedsShapeAndChangedByItsAdmins() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            #expect(try await client.request(.patch, "/api/v2/templates/\(f.open.id)/acl", json: ["user_perms": [f.member.id.uuidString: "admin"]], token: f.owner.token).status == .ok)
            let users = try await client.request(.get, "/api/v2/templates/\(f.open.id)/acl", token: f.member.token)
            #expect(users.status == .ok)
            #expect(try users.jsonArray.map { $0["username"] as? String } == ["member"])
            #expect(try users.jsonArray.first?["role"] as? String == "admin")
            #expect(try users.jsonArray.first?["roles"] != nil)
            let groups = try await client.request(.get, "/api/v2/templates/\(f.open.id)/acl/groups", token: f.member.token)
            #expect(groups.status == .ok)
            #expect(try groups.jsonArray.map { $0["name"] as? String } == ["Everyone"])
            #expect(try groups.jsonArray.first?["role"] as? String == "use")

            // An ACL admin changes the ACL; a user with `use` only may not; one without access
            // does not see the template at all.
            #expect(try await client.request(.patch, "/api/v2/templates/\(f.open.id)/acl", json: ["group_perms": [f.owner.organizationID.uuidString: ""]], token: f.member.token).status == .ok)
            let other = try await client.createMember("other", organizationID: f.owner.organizationID, token: f.owner.token)
            #expect(try await client.request(.patch, "/api/v2/templates/\(f.open.id)/acl", json: ["user_perms": [other.id.uuidString: "admin"]], token: other.token).status == .notFound)
            #expect(try await client.request(.patch, "/api/v2/templates/\(f.open.id)/acl", json: ["user_perms": [other.id.uuidString: "use"]], token: f.member.token).status == .ok)
            #expect(try await client.request(.patch, "/api/v2/templates/\(f.open.id)/acl", json: ["user_perms": [other.id.uuidString: "admin"]], token: other.token).status == .forbidden)
        }
    }

    @Test func everyProblemIsReportedAtOnceAndNothingChanges() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            let unknown = UUID()
            let refused = try await client.request(.patch, "/api/v2/templates/\(f.open.id)/acl", json: [
                "user_perms": [f.member.id.uuidString: "boss", "not-a-uuid": "use", unknown.uuidString: "use"],
                "group_perms": [UUID().uuidString: "admin"],
            ], token: f.owner.token)
            #expect(refused.status == .badRequest)
            #expect(try refused.message == "Invalid request to update template metadata!")
            let details = try (refused.json["validations"] as? [[String: Any]] ?? []).compactMap { $0["detail"] as? String }
            #expect(details.contains("role \"boss\" is not a valid Template role"))
            #expect(details.contains("ID not-a-uuidmust be a valid UUID."))
            #expect(details.contains { $0.hasPrefix("Failed to find resource with ID \"\(unknown.uuidString.lowercased())\"") })
            #expect(try refused.validationFields.sorted() == ["group_perms", "user_perms", "user_perms", "user_perms"])
            #expect(try await store.template(id: f.open.id)?.userACL.isEmpty == true)
        }
    }

    @Test func withoutTemplateRBACEveryMemberUsesEveryTemplateAndTheACLRoutesAreGated() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store, licensed: false)
            #expect(try await names(client, f, f.member.token) == ["hidden", "open"])
            #expect(try await client.request(.get, "/api/v2/templates/\(f.hidden.id)", token: f.member.token).status == .ok)
            let gated = try await client.request(.get, "/api/v2/templates/\(f.open.id)/acl", token: f.owner.token)
            #expect(gated.status == .forbidden)
            #expect(try gated.message == "Template RBAC is an Enterprise feature. Contact sales!")
            for (method, path) in [(HTTPRequest.Method.patch, "/api/v2/templates/\(f.open.id)/acl"), (.get, "/api/v2/templates/\(f.open.id)/acl/groups")] {
                let refused = try await client.request(method, path, json: ["user_perms": [f.member.id.uuidString: "admin"]], token: f.owner.token)
                #expect(refused.status == .forbidden, "\(method) \(path)")
                #expect(try refused.message == "Template RBAC is an Enterprise feature. Contact sales!")
            }
            #expect(try await store.template(id: f.open.id)?.userACL.isEmpty == true)
        }
    }

    @Test func aclChangesAreAudited() async throws {
        try await withLicensedApp { client, store, _ in
            let f = try await Self.fixture(client, store)
            #expect(try await client.request(.patch, "/api/v2/templates/\(f.open.id)/acl", json: ["user_perms": [f.member.id.uuidString: "use"]], token: f.owner.token).status == .ok)
            let audit = try await client.request(.get, "/api/v2/audit?q=resource_type:template", token: f.owner.token)
            #expect(audit.status == .ok)
            let rows = try audit.json["audit_logs"] as? [[String: Any]] ?? []
            #expect(rows.count == 1)
            #expect(rows.first?["resource_id"] as? String == f.open.id.uuidString.lowercased())
            #expect((rows.first?["diff"] as? [String: Any])?["user_acl"] != nil)
        }
    }
}

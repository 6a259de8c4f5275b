import Foundation

/// Who is asking: the authenticated user with their site and organization roles.
public struct Subject: Sendable, Equatable {
    public var userID: UUID
    public var username: String
    public var siteRoles: Set<String>
    /// Organization id → that user's roles in it (membership alone means "organization-member").
    public var organizations: [UUID: Set<String>]
    public var apiKeyID: String

    public func isMember(of organization: UUID) -> Bool { organizations[organization] != nil }
}

public enum Action: Sendable { case read, create, update, delete }

/// What is acted upon, with what the rules need to know about it.
public enum Resource: Sendable {
    /// A user account; `organizations` are the organizations it belongs to.
    case user(id: UUID, organizations: [UUID])
    /// A user's status (suspend/activate) and roles; `isOwner` if the target holds the owner role.
    case userAdministration(id: UUID, isOwner: Bool)
    case apiKey(owner: UUID)
    case organization(id: UUID)
    case deploymentConfig
    /// The deployment's licenses: owners only (others list none).
    case licenses
    case replicas
    /// External provisioner daemons of an organization (register one, list them).
    case provisionerDaemons(organization: UUID)
    /// Templates, their versions and import jobs in an organization.
    case templates(organization: UUID)
    /// One template, under its ACL: `update` is changing it or its ACL.
    case template(organization: UUID, access: TemplateAccess)
    /// The groups of an organization.
    case groups(organization: UUID)
    /// A workspace (and its builds and logs), owned by `owner`.
    case workspace(owner: UUID, organization: UUID)
    /// The deployment's audit log (Coder's `ResourceAuditLog`): owners and auditors read it;
    /// nobody writes it through the API (rows come from the changes they record).
    case auditLog
    /// A user's workspace quota (budget, allowances, consumption): that user, user admins, owners.
    case workspaceQuota(user: UUID)
    /// Granting and taking away site roles (`PUT /users/{user}/roles`): owners only, as in Coder,
    /// where only an owner may assign a site role beyond member.
    case siteRoles
}

public enum Role: String, CaseIterable, Sendable {
    case owner
    case member
    case templateAdmin = "template-admin"
    case userAdmin = "user-admin"
    case auditor

    public var displayName: String {
        switch self {
        case .owner: "Owner"
        case .member: "Member"
        case .templateAdmin: "Template Admin"
        case .userAdmin: "User Admin"
        case .auditor: "Auditor"
        }
    }

    /// Site roles that can be stored on a user ("member" is everyone's and implied).
    public static let assignableSiteRoles: Set<String> = [owner.rawValue, templateAdmin.rawValue, userAdmin.rawValue, auditor.rawValue]
}

/// Which part of a collection a subject may read: all of it, what belongs to some
/// organizations (theirs), or what they own. Lists filter by it in SQL instead of checking row
/// by row.
public enum Scope: Sendable, Equatable {
    case all
    case organizations([UUID])
    /// Only the subject's own rows.
    case own
}

/// Lists read through a `Scope`.
public enum Listing: Sendable {
    /// Every user account (a member sees the members of their organizations, and themselves).
    case users
    /// Every organization's groups.
    case groups
    /// Every workspace (of any organization, deleted ones aside).
    case workspaces
}

/// The one authorization rule book: every handler asks `can` before acting.
public enum RBAC {
    /// What of `listing` the subject may read: the same rule as `can(_:.read,_:)` on each of
    /// its rows, answered once for the whole list.
    public static func scope(_ subject: Subject, reading listing: Listing) -> Scope {
        let roles = subject.siteRoles
        switch listing {
        case .users, .groups:
            let everything = [Role.owner, .userAdmin, .templateAdmin, .auditor].contains { roles.contains($0.rawValue) }
            return everything ? .all : .organizations(Array(subject.organizations.keys))
        case .workspaces:
            // `.workspace`: owners, template admins and auditors read every one; anyone else
            // reads their own, in whatever organization.
            let everything = [Role.owner, .templateAdmin, .auditor].contains { roles.contains($0.rawValue) }
            return everything ? .all : .own
        }
    }

    public static func can(_ subject: Subject, _ action: Action, _ resource: Resource) -> Bool {
        let roles = subject.siteRoles
        if roles.contains(Role.owner.rawValue) { return true }
        let userAdmin = roles.contains(Role.userAdmin.rawValue)
        let templateAdmin = roles.contains(Role.templateAdmin.rawValue)
        let auditor = roles.contains(Role.auditor.rawValue)

        switch resource {
        case .user(let id, let organizations):
            if id == subject.userID { return action == .read || action == .update }
            switch action {
            case .read:
                return userAdmin || templateAdmin || auditor || organizations.contains(where: subject.isMember(of:))
            case .create, .update, .delete:
                return userAdmin
            }
        case .userAdministration(let id, let isOwner):
            // Nobody changes their own status; only owners touch another owner.
            return userAdmin && id != subject.userID && !isOwner
        case .apiKey(let owner):
            return owner == subject.userID
        case .organization(let id):
            return action == .read && (subject.isMember(of: id) || userAdmin || auditor)
        case .workspace(let owner, let organization):
            if owner == subject.userID { return subject.isMember(of: organization) || action == .read }
            return action == .read && (templateAdmin || auditor)
        case .templates(let organization):
            return templateAdmin || (action == .read && (subject.isMember(of: organization) || auditor))
        case .provisionerDaemons(let organization):
            return templateAdmin || (action == .read && (subject.isMember(of: organization) || auditor))
        case .template(let organization, let access):
            if templateAdmin { return true }
            switch access {
            case .unrestricted: return action == .read && (subject.isMember(of: organization) || auditor)
            case .role(let role):
                if auditor && action == .read { return true }
                guard subject.isMember(of: organization), let role else { return false }
                return action == .read || role == .admin
            }
        case .groups(let organization):
            // Members read their organization's groups (template ACLs name them); user admins
            // manage them.
            return userAdmin || (action == .read && (subject.isMember(of: organization) || templateAdmin || auditor))
        case .auditLog:
            return action == .read && auditor
        case .workspaceQuota(let user):
            return action == .read && (user == subject.userID || userAdmin)
        case .deploymentConfig, .replicas, .licenses, .siteRoles:
            return false
        }
    }
}

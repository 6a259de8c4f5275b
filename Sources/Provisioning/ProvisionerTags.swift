import Foundation

/// Coder's provisioner tag rules, shared by the queue (in SQL) and the waiter groups (here).
public enum ProvisionerTags {
    public static let scope = "scope"
    public static let owner = "owner"
    public static let organizationScope = "organization"
    public static let userScope = "user"

    /// Normalizes tags as Coder does: no scope means organization scope; an organization-scoped
    /// set has an empty owner; a user-scoped set is owned by `userID`.
    public static func normalize(_ tags: [String: String], userID: UUID?) -> [String: String] {
        var tags = tags
        switch tags[scope] {
        case userScope:
            tags[owner] = userID?.uuidString.lowercased() ?? ""
        default:
            tags[scope] = organizationScope
            tags[owner] = ""
        }
        return tags
    }

    /// The tags of a workspace build's job (every transition), from the tags of its template
    /// version's import job: Coder's `MutateTags(workspace.OwnerID, tags)`. The import's owner tag
    /// is its author's, so copying it would run everyone's builds of a user-scoped version on the
    /// author's own daemon, with its credentials, the build's inputs and the workspace's state. A
    /// user-scoped build belongs to the workspace's owner instead (whoever starts it), and waits for
    /// one of that user's daemons; an organization-scoped one has the empty owner and goes to the
    /// organization's daemons. Other tags are kept.
    public static func forBuild(versionTags: [String: String], workspaceOwnerID: UUID) -> [String: String] {
        normalize(versionTags, userID: workspaceOwnerID)
    }

    /// True when a daemon with `daemon` tags may run a job with `job` tags: a job with only the
    /// default tags runs only on a daemon with exactly those; otherwise the daemon's tags must
    /// contain all of the job's. The SQL function `provisioner_tagset_contains` is the same rule.
    public static func contains(daemon: [String: String], job: [String: String]) -> Bool {
        if job == [scope: organizationScope, owner: ""] { return daemon == job }
        return job.allSatisfy { daemon[$0.key] == $0.value }
    }
}

import Postgres

extension Schema {
    /// Workspace quotas read, on every commit and every `GET /workspace-quota`, a user's live
    /// workspaces in one organization and the latest build of each (served by the
    /// `(workspace_id, build_number)` unique index), and find a build by its job.
    static let quota = Migration(version: 8, name: "quota", sql: """
        CREATE INDEX workspaces_owner_organization ON workspaces (owner_id, organization_id) WHERE NOT deleted;
        CREATE INDEX workspace_builds_job ON workspace_builds (job_id);
        """)
}

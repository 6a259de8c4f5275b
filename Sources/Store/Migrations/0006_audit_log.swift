import Postgres

extension Schema {
    /// Coder's audit log: one row per mutating enterprise request, written by the handler's own
    /// transaction (see `AuditLogs.insert`), so a change and its record commit or vanish together.
    ///
    /// - `user_id` has no foreign key: a deleted user's history stays, and the reader shows the
    ///   row with no user (as Coder does once the user is gone).
    /// - `organization_id` is NULL for deployment-wide resources (licenses, appearance).
    /// - `diff` is `{"field": {"old","new","secret"}}`; `additional_fields` any JSON.
    /// - The reader orders by `time DESC, id`; each filter has an index that serves that order.
    static let auditLog = Migration(version: 6, name: "audit_log", sql: """
        CREATE TABLE audit_logs (
            id uuid PRIMARY KEY,
            time timestamptz NOT NULL DEFAULT now(),
            user_id uuid,
            organization_id uuid,
            ip inet,
            user_agent text NOT NULL DEFAULT '',
            resource_type text NOT NULL,
            resource_id uuid NOT NULL,
            resource_target text NOT NULL DEFAULT '',
            action text NOT NULL CHECK (action IN ('create', 'write', 'delete')),
            diff jsonb NOT NULL DEFAULT '{}'::jsonb,
            status_code integer NOT NULL,
            additional_fields jsonb NOT NULL DEFAULT '{}'::jsonb,
            request_id uuid NOT NULL,
            resource_icon text NOT NULL DEFAULT ''
        );
        CREATE INDEX audit_logs_time ON audit_logs (time DESC, id);
        CREATE INDEX audit_logs_resource_type ON audit_logs (resource_type, time DESC);
        CREATE INDEX audit_logs_action ON audit_logs (action, time DESC);
        CREATE INDEX audit_logs_user_id ON audit_logs (user_id, time DESC);
        CREATE INDEX audit_logs_resource_id ON audit_logs (resource_id, time DESC);
        CREATE INDEX audit_logs_organization_id ON audit_logs (organization_id, time DESC);
        CREATE INDEX audit_logs_request_id ON audit_logs (request_id);
        """)
}

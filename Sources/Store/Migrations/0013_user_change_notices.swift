import Postgres

extension Schema {
    /// Every change of a user's status or roles, and of their organization memberships, is
    /// announced on `user_status_changed` (the user's id) by the database, in the transaction that
    /// makes it: whichever path suspends a user or takes a role away — an admin's request, SCIM,
    /// identity-provider sync, a statement an operator runs — every replica drops the user's cached
    /// sessions and re-checks their sockets when it commits, and never before. A replica of the
    /// previous version announces its own changes as before; the extra notice is harmless.
    static let userChangeNotices = Migration(version: 13, name: "user_change_notices", sql: """
        CREATE FUNCTION announce_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = 'users' THEN
                PERFORM pg_notify('user_status_changed', NEW.id::text);
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('user_status_changed', OLD.user_id::text);
            ELSE
                PERFORM pg_notify('user_status_changed', NEW.user_id::text);
            END IF;
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER users_announce_change AFTER UPDATE OF status, rbac_roles ON users
            FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.rbac_roles IS DISTINCT FROM NEW.rbac_roles)
            EXECUTE FUNCTION announce_user_change();
        CREATE TRIGGER organization_members_announce_change AFTER UPDATE OF roles OR DELETE ON organization_members
            FOR EACH ROW EXECUTE FUNCTION announce_user_change();
        """)
}

import Postgres

extension Schema {
    /// SCIM (RFC 7643/7644). A SCIM User is a product user: these columns hold what an IdP
    /// said about it beyond the product's own fields. `scim_user_name` is NULL until SCIM links
    /// the user (its SCIM `userName` is then the product username); linked userNames are unique,
    /// case-insensitively, as RFC 7643 makes `userName` (`users_scim_user_name_key`). Filters by
    /// `userName` are served by the expression index over both. A user deprovisioned over SCIM
    /// (DELETE) is suspended and hidden from SCIM until an IdP creates it again.
    ///
    /// Groups get `created_at`/`updated_at` (SCIM `meta`, and the ETag: a membership change
    /// bumps the group's `updated_at`) and an `externalId`.
    static let scim = Migration(version: 9, name: "scim", sql: """
        ALTER TABLE users
            ADD COLUMN scim_user_name text,
            ADD COLUMN scim_external_id text,
            ADD COLUMN scim_attributes jsonb NOT NULL DEFAULT '{}',
            ADD COLUMN scim_deprovisioned_at timestamptz;
        CREATE UNIQUE INDEX users_scim_user_name_key ON users (lower(scim_user_name)) WHERE scim_user_name IS NOT NULL;
        CREATE INDEX users_scim_user_name_or_username ON users (lower(coalesce(scim_user_name, username)));
        CREATE INDEX users_scim_external_id ON users (scim_external_id) WHERE scim_external_id IS NOT NULL;
        -- SCIM pages (and the product's user list) run in creation order.
        CREATE INDEX users_created_order ON users (created_at, id);

        ALTER TABLE groups
            ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
            ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
            ADD COLUMN scim_external_id text;
        CREATE INDEX groups_scim_external_id ON groups (organization_id, scim_external_id) WHERE scim_external_id IS NOT NULL;
        CREATE INDEX groups_lower_name ON groups (organization_id, lower(name));

        -- A membership change is a change of its group: its updated_at (and SCIM version) moves,
        -- once per statement, however many members the statement adds or removes.
        CREATE FUNCTION groups_touch_added() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE groups SET updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
            WHERE id IN (SELECT DISTINCT group_id FROM added);
            RETURN NULL;
        END $$;
        CREATE FUNCTION groups_touch_removed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE groups SET updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
            WHERE id IN (SELECT DISTINCT group_id FROM removed);
            RETURN NULL;
        END $$;
        CREATE TRIGGER group_members_added AFTER INSERT ON group_members
            REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION groups_touch_added();
        CREATE TRIGGER group_members_removed AFTER DELETE ON group_members
            REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION groups_touch_removed();
        """)
}

import Postgres

extension Schema {
    static let identity = Migration(version: 1, name: "identity", sql: """
        CREATE TABLE organizations (
            id uuid PRIMARY KEY,
            name text NOT NULL,
            display_name text NOT NULL DEFAULT '',
            description text NOT NULL DEFAULT '',
            is_default boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));
        CREATE UNIQUE INDEX organizations_single_default ON organizations (is_default) WHERE is_default;

        CREATE TABLE users (
            id uuid PRIMARY KEY,
            email text NOT NULL,
            username text NOT NULL,
            hashed_password text NOT NULL DEFAULT '',
            avatar_url text NOT NULL DEFAULT '',
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'dormant')),
            -- Site-wide roles; "member" is implied for everyone and not stored.
            rbac_roles text[] NOT NULL DEFAULT '{}',
            login_type text NOT NULL DEFAULT 'password',
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX users_email_key ON users (lower(email));
        CREATE UNIQUE INDEX users_username_key ON users (lower(username));

        CREATE TABLE organization_members (
            user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            roles text[] NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, organization_id)
        );
        CREATE INDEX organization_members_organization ON organization_members (organization_id);

        -- The "Everyone" group of an organization has the organization's id; its members are implicit.
        CREATE TABLE groups (
            id uuid PRIMARY KEY,
            name text NOT NULL,
            display_name text NOT NULL DEFAULT '',
            organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            avatar_url text NOT NULL DEFAULT '',
            quota_allowance integer NOT NULL DEFAULT 0,
            source text NOT NULL DEFAULT 'user',
            UNIQUE (name, organization_id)
        );

        CREATE TABLE group_members (
            user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
            PRIMARY KEY (user_id, group_id)
        );

        -- Session tokens and API tokens: "<id>-<secret>"; only SHA-256 of the secret is kept.
        CREATE TABLE api_keys (
            id text PRIMARY KEY,
            hashed_secret bytea NOT NULL,
            user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            login_type text NOT NULL,
            lifetime_seconds bigint NOT NULL,
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            last_used timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX api_keys_user ON api_keys (user_id);
        """)
}

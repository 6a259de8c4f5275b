import Postgres

extension Schema {
    /// Files, templates, workspaces, builds, and the provisioner job queue.
    ///
    /// A job is owned by lease, not by connection: `lease_daemon_id` and `lease_epoch` fence every
    /// update, so a daemon that reconnects (to any replica) resumes its job, and a stale holder is
    /// refused. `lease_lost_at` records when the holder's connection ended; the reaper fails a job
    /// whose holder does not come back within the grace period.
    static let provisioning = Migration(version: 3, name: "provisioning", sql: """
        CREATE TABLE files (
            id uuid PRIMARY KEY,
            hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            mimetype text NOT NULL,
            data bytea NOT NULL,
            UNIQUE (hash, created_by)
        );

        -- Coder's rule: a job with only the default tags runs only on a daemon with exactly those;
        -- otherwise the daemon's tags must contain all of the job's.
        CREATE FUNCTION provisioner_tagset_contains(daemon_tags jsonb, job_tags jsonb) RETURNS boolean
        LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE
                WHEN job_tags = '{"scope": "organization", "owner": ""}'::jsonb THEN job_tags = daemon_tags
                ELSE job_tags <@ daemon_tags
            END
        $$;

        CREATE TABLE provisioner_jobs (
            id uuid PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            canceled_at timestamptz,
            completed_at timestamptz,
            error text,
            error_code text,
            organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            initiator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            provisioner text NOT NULL,
            type text NOT NULL CHECK (type IN ('template_version_import', 'workspace_build')),
            file_id uuid NOT NULL REFERENCES files (id),
            input jsonb NOT NULL DEFAULT '{}',
            tags jsonb NOT NULL DEFAULT '{}',
            worker_id uuid,
            lease_daemon_id uuid,
            lease_epoch integer NOT NULL DEFAULT 0,
            lease_lost_at timestamptz,
            last_update_at timestamptz,
            result jsonb
        );
        CREATE INDEX provisioner_jobs_pending ON provisioner_jobs (organization_id, created_at) WHERE started_at IS NULL AND canceled_at IS NULL;
        CREATE INDEX provisioner_jobs_running ON provisioner_jobs (lease_daemon_id) WHERE started_at IS NOT NULL AND completed_at IS NULL;

        CREATE TABLE provisioner_job_logs (
            id bigserial PRIMARY KEY,
            job_id uuid NOT NULL REFERENCES provisioner_jobs (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            source text NOT NULL DEFAULT 'provisioner',
            level text NOT NULL DEFAULT 'info',
            stage text NOT NULL DEFAULT '',
            output text NOT NULL
        );
        CREATE INDEX provisioner_job_logs_job ON provisioner_job_logs (job_id, id);

        CREATE TABLE provisioner_daemons (
            id uuid PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz,
            last_seen_at timestamptz,
            name text NOT NULL,
            organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            provisioners text[] NOT NULL,
            tags jsonb NOT NULL DEFAULT '{}',
            replica_id uuid,
            version text NOT NULL DEFAULT '',
            current_job_id uuid,
            connected boolean NOT NULL DEFAULT false,
            UNIQUE (organization_id, name)
        );

        CREATE TABLE templates (
            id uuid PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            name text NOT NULL,
            display_name text NOT NULL DEFAULT '',
            description text NOT NULL DEFAULT '',
            provisioner text NOT NULL,
            active_version_id uuid NOT NULL,
            created_by uuid NOT NULL REFERENCES users (id),
            user_acl jsonb NOT NULL DEFAULT '{}',
            group_acl jsonb NOT NULL DEFAULT '{}',
            UNIQUE (organization_id, name)
        );

        CREATE TABLE template_versions (
            id uuid PRIMARY KEY,
            template_id uuid REFERENCES templates (id) ON DELETE CASCADE,
            organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            name text NOT NULL,
            readme text NOT NULL DEFAULT '',
            job_id uuid NOT NULL REFERENCES provisioner_jobs (id),
            created_by uuid NOT NULL REFERENCES users (id)
        );

        CREATE TABLE workspaces (
            id uuid PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            owner_id uuid NOT NULL REFERENCES users (id),
            organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            template_id uuid NOT NULL REFERENCES templates (id),
            name text NOT NULL,
            deleted boolean NOT NULL DEFAULT false
        );
        CREATE UNIQUE INDEX workspaces_owner_name ON workspaces (owner_id, lower(name)) WHERE NOT deleted;

        CREATE TABLE workspace_builds (
            id uuid PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
            template_version_id uuid NOT NULL REFERENCES template_versions (id),
            build_number integer NOT NULL,
            transition text NOT NULL CHECK (transition IN ('start', 'stop', 'delete')),
            initiator_id uuid NOT NULL REFERENCES users (id),
            job_id uuid NOT NULL REFERENCES provisioner_jobs (id),
            state bytea,
            daily_cost integer NOT NULL DEFAULT 0,
            UNIQUE (workspace_id, build_number)
        );

        CREATE TABLE workspace_resources (
            id uuid PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            job_id uuid NOT NULL REFERENCES provisioner_jobs (id) ON DELETE CASCADE,
            transition text NOT NULL,
            type text NOT NULL,
            name text NOT NULL,
            daily_cost integer NOT NULL DEFAULT 0
        );
        CREATE INDEX workspace_resources_job ON workspace_resources (job_id);
        """)
}

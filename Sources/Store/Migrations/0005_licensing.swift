import Postgres

extension Schema {
    /// Licenses and the deployment's own settings.
    ///
    /// - `licenses` as Coder keeps them: the JWT as uploaded, its `exp` (end of grace) so that
    ///   expired ones are skipped without parsing, and its `jti` as `uuid`. The same JWT twice is
    ///   a conflict, not a second row.
    /// - `site_configs`, Coder's key/value table: the deployment's id and trial signing key (made
    ///   once, on the first start) and the appearance configuration, as JSON text.
    static let licensing = Migration(version: 5, name: "licensing", sql: """
        CREATE TABLE licenses (
            id serial PRIMARY KEY,
            uploaded_at timestamptz NOT NULL DEFAULT now(),
            jwt text NOT NULL,
            exp timestamptz NOT NULL,
            uuid uuid NOT NULL,
            CONSTRAINT licenses_jwt_key UNIQUE (jwt),
            CONSTRAINT licenses_uuid_key UNIQUE (uuid)
        );
        CREATE INDEX licenses_exp ON licenses (exp);

        CREATE TABLE site_configs (
            key text PRIMARY KEY,
            value text NOT NULL
        );
        """)
}

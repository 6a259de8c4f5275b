import Postgres

extension Schema {
    /// What a template version's import found its template declares (Coder's
    /// `template_version_variables`), with the value each was given at the version's creation
    /// (`user_variable_values`, kept in the import job's `input` until then), in the order the
    /// import reported them (by name). A version's builds run with these values. Additive.
    static let templateVersionVariables = Migration(version: 15, name: "template_version_variables", sql: """
        CREATE TABLE template_version_variables (
            template_version_id uuid NOT NULL REFERENCES template_versions (id) ON DELETE CASCADE,
            name text NOT NULL,
            description text NOT NULL DEFAULT '',
            type text NOT NULL,
            value text NOT NULL DEFAULT '',
            default_value text NOT NULL DEFAULT '',
            required boolean NOT NULL,
            sensitive boolean NOT NULL,
            position integer NOT NULL,
            PRIMARY KEY (template_version_id, name)
        );
        """)
}

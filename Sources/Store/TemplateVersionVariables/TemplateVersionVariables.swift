import Foundation
import Postgres
import ProvisionerProtocol

/// A template version's declared variables, with their values.
public struct TemplateVersionVariable: Sendable, Equatable {
    public var name: String
    public var description: String
    public var type: String
    /// What the version was given for it at creation ("" when nothing).
    public var value: String
    public var defaultValue: String
    public var required: Bool
    public var sensitive: Bool
}

enum TemplateVersionVariables {
    /// Stores what an import found, with the value given for each in the import job's `input`
    /// (`user_variable_values`); a value given for a variable the template does not declare is
    /// dropped, as in Coder.
    static func insert(_ variable: TemplateVariable, position: Int, importJobID: UUID) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            INSERT INTO template_version_variables (template_version_id, name, description, type, value, default_value, required, sensitive, position)
            SELECT v.id, \(variable.name), \(variable.description), \(variable.type),
                   COALESCE((SELECT given->>'value' FROM provisioner_jobs j, jsonb_array_elements(COALESCE(j.input->'user_variable_values', '[]'::jsonb)) given
                             WHERE j.id = \(importJobID) AND given->>'name' = \(variable.name) LIMIT 1), ''),
                   \(variable.defaultValue), \(variable.required), \(variable.sensitive), \(position)
            FROM template_versions v WHERE v.job_id = \(importJobID)
            """
        )
    }

    /// In the order the import reported them (by name).
    static func ofVersion(_ versionID: UUID) -> PostgresQuery<TemplateVersionVariable> {
        PostgresQuery(
            """
            SELECT name, description, type, value, default_value, required, sensitive
            FROM template_version_variables WHERE template_version_id = \(versionID) ORDER BY position
            """
        ) { row in
            TemplateVersionVariable(
                name: try row.decode("name"), description: try row.decode("description"), type: try row.decode("type"),
                value: try row.decode("value"), defaultValue: try row.decode("default_value"),
                required: try row.decode("required"), sensitive: try row.decode("sensitive")
            )
        }
    }

    /// The values a job runs with: for an import, those given with its version (its `input`);
    /// for a build, those its version was imported with (a variable given nothing keeps its
    /// default, so only given values are passed).
    static func values(jobID: UUID) -> PostgresQuery<VariableValue> {
        PostgresQuery(
            """
            SELECT given->>'name' AS name, given->>'value' AS value
            FROM provisioner_jobs j, jsonb_array_elements(COALESCE(j.input->'user_variable_values', '[]'::jsonb)) given
            WHERE j.id = \(jobID) AND j.type = 'template_version_import'
            UNION ALL
            SELECT tv.name, tv.value
            FROM workspace_builds b JOIN template_version_variables tv ON tv.template_version_id = b.template_version_id
            WHERE b.job_id = \(jobID) AND tv.value <> ''
            """
        ) { row in
            VariableValue(name: try row.decode("name"), value: try row.decode("value"))
        }
    }
}

import Foundation
import Postgres

extension Store {
    /// A version's variables, in the order the import reported them, by name (none before its import has succeeded).
    public func variables(templateVersionID: UUID) async throws -> [TemplateVersionVariable] {
        try await pool.all(TemplateVersionVariables.ofVersion(templateVersionID))
    }
}

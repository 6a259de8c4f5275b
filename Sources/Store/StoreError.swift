import Postgres

/// A problem the store can name precisely; the HTTP layer maps these to responses.
public enum StoreError: Error, Sendable, Equatable {
    case notFound
    /// A uniqueness rule was broken: which field ("email", "username", "name").
    case conflict(field: String)
    /// The first user exists already.
    case alreadyInitialized
    /// The workspace has a build whose job has not ended.
    case buildActive
    /// A value no caller may store (the store's own check behind the API's, e.g. a group name
    /// that reads as `Everyone`): which field, and what is wrong with it.
    case invalid(field: String, detail: String)
}

/// Runs `body`; a unique violation of a constraint named in one of `constraintFields` (each
/// table's own map, beside its queries: `Users.constraintFields`) becomes
/// `StoreError.conflict(field:)`. Any other error passes unchanged.
func mappingConflicts<T>(_ constraintFields: [String: String]..., body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresError where error.isUniqueViolation {
        guard let constraint = error.constraint, let field = constraintFields.lazy.compactMap({ $0[constraint] }).first else { throw error }
        throw StoreError.conflict(field: field)
    }
}

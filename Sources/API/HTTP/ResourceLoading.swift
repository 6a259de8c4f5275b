import Foundation
import Hummingbird
import Store

/// Something a route acts on: how to fetch it, and what the rule book needs to know about it.
/// `SignedInContext.load(_:for:)` applies the one 404-or-403 rule to it.
struct Lookup<Value: Sendable>: Sendable {
    let fetch: @Sendable () async throws -> Value?
    let resource: @Sendable (Value) -> Resource
}

extension SignedInContext {
    /// Fetches a thing and checks `action` on it, with Coder's convention decided here once: what
    /// the caller may not read does not exist for them (404, the same text as a missing one);
    /// what they may read but not change is 403.
    func load<Value>(_ lookup: Lookup<Value>, for action: Action) async throws -> Value {
        guard let value = try await lookup.fetch() else { throw APIError.resourceNotFound }
        try Self.authorize(subject, action, lookup.resource(value))
        return value
    }

    /// The rule for a thing whose existence the caller already knows (a collection: "the users",
    /// "the templates of this organization"): a read refused is 404, anything else refused is 403.
    func authorize(_ action: Action, _ resource: Resource) throws {
        guard RBAC.can(subject, action, resource) else {
            throw action == .read ? APIError.resourceNotFound : APIError.forbidden
        }
    }

    private static func authorize(_ subject: Subject, _ action: Action, _ resource: Resource) throws {
        guard RBAC.can(subject, .read, resource) else { throw APIError.resourceNotFound }
        guard action == .read || RBAC.can(subject, action, resource) else { throw APIError.forbidden }
    }
}

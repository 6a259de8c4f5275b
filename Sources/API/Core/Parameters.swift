import Foundation
import Hummingbird
import Store

extension AppRequestContext {
    func uuidParameter(_ name: String) throws -> UUID {
        let raw = parameters.get(name) ?? ""
        guard let id = UUID(uuidString: raw) else { throw APIError.invalidUUID(raw) }
        return id
    }

    /// `{user}`: a uuid, a username, or `me` (the caller), as Coder resolves it.
    func userParameter(_ store: Store, name: String = "user") async throws -> User {
        let raw = parameters.get(name) ?? ""
        let subject = try requireSubject()
        let user: User?
        if raw == "me" {
            user = try await store.user(id: subject.userID)
        } else if let id = UUID(uuidString: raw) {
            user = try await store.user(id: id)
        } else {
            user = try await store.user(username: raw)
        }
        guard let user else { throw APIError(.badRequest, "\"user\" must be an existing uuid or username.") }
        return user
    }

    /// `{organization}` by uuid; 404 unless the caller may read it.
    func organizationParameter(_ store: Store, name: String = "organization") async throws -> Organization {
        let id = try uuidParameter(name)
        guard let organization = try await store.organization(id: id),
              RBAC.can(try requireSubject(), .read, .organization(id: id))
        else { throw APIError.resourceNotFound }
        return organization
    }
}

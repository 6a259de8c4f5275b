import Foundation
import Hummingbird

extension RequestContext {
    /// The path parameter `name` as a UUID; 400 in Coder's words when it is not one.
    func uuidParameter(_ name: String) throws -> UUID {
        let raw = parameters.get(name) ?? ""
        guard let id = UUID(uuidString: raw) else { throw APIError.invalidUUID(raw) }
        return id
    }
}

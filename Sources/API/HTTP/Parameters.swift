import Foundation
import Hummingbird

extension AppRequestContext {
    func uuidParameter(_ name: String) throws -> UUID {
        let raw = parameters.get(name) ?? ""
        guard let id = UUID(uuidString: raw) else { throw APIError.invalidUUID(raw) }
        return id
    }
}

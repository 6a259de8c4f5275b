import Foundation
import Hummingbird
import Store

extension Request {
    /// `limit`, `offset` and `after_id` from the query, as Coder's `ParsePagination` reads them;
    /// `limit=0` (or none) means no limit. Every bad parameter is reported at once.
    func page() throws -> Page {
        let query = uri.queryParameters
        var problems: [APIError.Validation] = []
        func count(_ name: String) -> Int? {
            guard let raw = query[name[...]] else { return nil }
            guard let value = Int(raw), value >= 0 else {
                problems.append(.init(field: name, detail: "must be a non-negative integer"))
                return nil
            }
            return value
        }
        let limit = count("limit")
        let offset = count("offset") ?? 0
        var afterID: UUID?
        if let raw = query["after_id"], !raw.isEmpty {
            afterID = UUID(uuidString: String(raw))
            if afterID == nil { problems.append(.init(field: "after_id", detail: "must be a valid uuid")) }
        }
        guard problems.isEmpty else { throw APIError(.badRequest, "Query parameter has invalid value.", validations: problems) }
        return Page(limit: limit == 0 ? nil : limit, offset: offset, afterID: afterID)
    }
}

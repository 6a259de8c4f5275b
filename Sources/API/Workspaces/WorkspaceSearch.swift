import Foundation
import Store

/// `GET /workspaces?q=`: Coder's `searchquery.Workspaces`. The query is lowercased first, as
/// Coder's. Keys: `owner` (a username, or `me` for the caller), `template` (a template's name),
/// `name` (part of the workspace's name), `status` (the latest build's status, as the API shows
/// it). The terms without a key are a name, or `owner/name`. Every bad value and unknown key is
/// reported at once, with Coder's wording; a term that does not split is reported alone.
struct WorkspaceSearch {
    var filter = WorkspaceFilter()
    var problems: [APIError.Validation] = []

    static let invalidQuery = "Invalid workspace search query."

    /// Coder's `database.WorkspaceStatus` values, the ones `BuildJSON.status` answers.
    static let statuses: Set<String> = [
        "pending", "starting", "running", "stopping", "stopped", "failed", "canceling", "canceled", "deleting", "deleted",
    ]

    /// `callerID`: who `owner:me` is.
    init(_ query: String, callerID: UUID) {
        var terms: SearchQuery
        do {
            terms = try SearchQuery(query.lowercased(), defaultKey: nil)
        } catch {
            problems = [.init(field: error.field, detail: error.detail)]
            return
        }
        // Each term without a key is a name, or an owner and a name (Coder's default-key
        // function); their values come after the keyed ones, and the first value counts.
        var bareOwners: [String] = [], bareNames: [String] = []
        for term in terms.bare {
            let parts = SearchQuery.split(term, on: "/", keepingQuotes: false)
            switch parts.count {
            case 1:
                bareNames.append(parts[0])
            case 2:
                bareOwners.append(parts[0])
                bareNames.append(parts[1])
            default:
                problems = [.init(field: "q", detail: "Query element \"\(term)\" can only contain 1 '/'")]
                return
            }
        }
        if let owner = terms.value("owner") ?? bareOwners.first {
            if owner == "me" { filter.ownerID = callerID } else { filter.ownerUsername = owner }
        }
        filter.templateName = terms.value("template")
        filter.name = terms.value("name") ?? bareNames.first
        if let status = terms.value("status") {
            if Self.statuses.contains(status) {
                filter.status = status
            } else {
                problems.append(.init(field: "status", detail: "Query param \"status\" has invalid value: \"\(status)\" is not a valid value"))
            }
        }
        for key in terms.excessKeys {
            problems.append(.init(field: key, detail: "Query param \"\(key)\" is not a valid query param"))
        }
    }

    /// The 400 for `problems`, or nil when there are none.
    var error: APIError? {
        problems.isEmpty ? nil : APIError(.badRequest, Self.invalidQuery, validations: problems)
    }
}

import Foundation
import Store

/// `GET /audit?q=`: Coder's `searchquery.AuditLogs`. The query is lowercased first, as Coder's;
/// a bare term is a resource type. Keys: `resource_type`, `resource_id`, `resource_target`,
/// `action`, `username`, `email`, `date_from` and `date_to` (`2006-01-02`, UTC, both days
/// included), `request_id`, `organization` (a uuid or a name, resolved by the caller). Every
/// bad value and unknown key is reported at once, with Coder's wording.
struct AuditSearch {
    var filter = AuditFilter()
    /// An `organization:` that is not a uuid: a name for the controller to resolve.
    var organizationName: String?
    var problems: [APIError.Validation] = []

    static let invalidQuery = "Invalid audit search query."

    init(_ query: String) {
        var terms: SearchQuery
        do {
            terms = try SearchQuery(query.lowercased(), defaultKey: "resource_type")
        } catch {
            problems = [.init(field: error.field, detail: error.detail)]
            return
        }
        filter.requestID = uuid(&terms, "request_id")
        filter.resourceID = uuid(&terms, "resource_id")
        filter.resourceTarget = terms.value("resource_target")
        filter.username = terms.value("username")
        filter.email = terms.value("email")
        filter.from = day(&terms, "date_from")
        filter.until = day(&terms, "date_to").map { $0.addingTimeInterval(24 * 60 * 60) }
        if let organization = terms.value("organization") {
            if let id = UUID(uuidString: organization) { filter.organizationID = id } else { organizationName = organization }
        }
        filter.resourceType = enumeration(&terms, "resource_type")
        filter.action = enumeration(&terms, "action")
        for key in terms.excessKeys {
            problems.append(.init(field: key, detail: "Query param \"\(key)\" is not a valid query param"))
        }
    }

    /// The 400 for `problems`, or nil when there are none.
    var error: APIError? {
        problems.isEmpty ? nil : APIError(.badRequest, Self.invalidQuery, validations: problems)
    }

    /// Coder's refusal of an organization name that names none.
    static func unknownOrganization(_ name: String) -> APIError {
        APIError(.badRequest, invalidQuery, validations: [.init(
            field: "organization",
            detail: "Query param \"organization\" has invalid value: organization \"\(name)\" either does not exist, or you are unauthorized to view it"
        )])
    }

    private mutating func uuid(_ terms: inout SearchQuery, _ key: String) -> UUID? {
        guard let raw = terms.value(key) else { return nil }
        guard let id = UUID(uuidString: raw) else {
            problems.append(.init(field: key, detail: "Query param \"\(key)\" must be a valid uuid"))
            return nil
        }
        return id
    }

    private mutating func enumeration<T: RawRepresentable<String>>(_ terms: inout SearchQuery, _ key: String) -> T? {
        guard let raw = terms.value(key) else { return nil }
        guard let value = T(rawValue: raw) else {
            problems.append(.init(field: key, detail: "Query param \"\(key)\" has invalid value: \"\(raw)\" is not a valid value"))
            return nil
        }
        return value
    }

    /// Midnight UTC of a `YYYY-MM-DD` day (Go's layout `2006-01-02`: exactly that shape, and a
    /// day the calendar has).
    private mutating func day(_ terms: inout SearchQuery, _ key: String) -> Date? {
        guard let raw = terms.value(key) else { return nil }
        guard let date = Self.parseDay(raw) else {
            problems.append(.init(field: key, detail: "Query param \"\(key)\" must be a valid date format (2006-01-02): parsing time \"\(raw)\" failed"))
            return nil
        }
        return date
    }

    static func parseDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, [4, 2, 2] == parts.map(\.count), parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { return nil }
        calendar.timeZone = utc
        let components = DateComponents(year: year, month: month, day: day)
        // A day the month does not have (02-30) is refused, not rolled over.
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else { return nil }
        return date
    }
}

import Foundation
import Hummingbird
import SCIMCore
import Store
import WireFormat

/// A SCIM list request (RFC 7644 §3.4.2, §3.4.3): filter, sort, page and projection, from the
/// query string of a GET or the body of a POST `/.search`, with SCIM's errors.
struct SCIMListQuery: Sendable {
    var request: SCIMListRequest
    var attributes: [SCIMAttributePath] = []
    var excludedAttributes: [SCIMAttributePath] = []

    /// When a client names no `count` (Okta always does; a full listing of 100,000 users would not fit a response).
    static let defaultCount = 100

    init(query: Parameters) throws(SCIMError) {
        try self.init(fields: { name in query.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }.map { .string(String($0.value)) } })
    }

    init(body: JSONValue) throws(SCIMError) {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("A search is a JSON object (a SearchRequest).") }
        try self.init(fields: { name in SCIMDocument.key(name, in: object).flatMap { object[$0] } })
    }

    /// Only `attributes`/`excludedAttributes` (a GET of one resource): the list parameters are
    /// not read there.
    init(projectionOnly query: Parameters) throws(SCIMError) {
        func field(_ name: String) -> JSONValue? {
            query.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }.map { .string(String($0.value)) }
        }
        request = SCIMListRequest(filter: nil, sortBy: nil, descending: false, startIndex: 1, count: 1)
        attributes = try Self.paths(field("attributes"), field: "attributes")
        excludedAttributes = try Self.paths(field("excludedAttributes"), field: "excludedAttributes")
    }

    private init(fields: (String) -> JSONValue?) throws(SCIMError) {
        var filter: SCIMFilter?
        if let text = fields("filter") {
            guard let text = text.string else { throw SCIMError.invalidFilter("\"filter\" must be a string.") }
            do throws(SCIMFilterError) { filter = try SCIMFilter.parse(text) } catch { throw SCIMError.invalidFilter(error.message) }
        }
        let sortBy = try fields("sortBy").map { value throws(SCIMError) in try Self.attributePath(value, field: "sortBy") }
        var descending = false
        if let order = fields("sortOrder") {
            switch order.string?.lowercased() {
            case "ascending": descending = false
            case "descending": descending = true
            default: throw SCIMError.invalidValue("\"sortOrder\" is ascending or descending.")
            }
        }
        let startIndex = max(1, try Self.integer(fields("startIndex"), field: "startIndex") ?? 1)
        let count = min(SCIMLimits.maximumResults, max(0, try Self.integer(fields("count"), field: "count") ?? Self.defaultCount))
        request = SCIMListRequest(filter: filter, sortBy: sortBy, descending: descending, startIndex: startIndex, count: count)
        attributes = try Self.paths(fields("attributes"), field: "attributes")
        excludedAttributes = try Self.paths(fields("excludedAttributes"), field: "excludedAttributes")
    }

    func project(_ resource: JSONValue) -> JSONValue {
        attributes.isEmpty && excludedAttributes.isEmpty ? resource : SCIMDocument.project(resource, attributes: attributes, excluded: excludedAttributes)
    }

    /// An integer, clamped to `Int`'s range: a `startIndex` of 10^30 is a page past the end (empty,
    /// with the right `totalResults`), not an error and never a trap.
    private static func integer(_ value: JSONValue?, field: String) throws(SCIMError) -> Int? {
        guard let value else { return nil }
        if let integer = value.integer { return Int(clamping: integer) }
        if case .double(let number) = value, number.isFinite, number.rounded() == number {
            return number >= Double(Int.max) ? .max : number <= Double(Int.min) ? .min : Int(number)
        }
        if let text = value.string?.trimmingCharacters(in: .whitespaces) {
            if let integer = Int(text) { return integer }
            let digits = text.drop { $0 == "-" || $0 == "+" }
            if !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), text.count - digits.count <= 1 {
                return text.hasPrefix("-") ? .min : .max
            }
        }
        throw SCIMError.invalidValue("\"\(field)\" must be an integer.")
    }

    private static func attributePath(_ value: JSONValue, field: String) throws(SCIMError) -> SCIMAttributePath {
        guard let text = value.string else { throw SCIMError.invalidValue("\"\(field)\" must be an attribute name.") }
        guard case .attribute(let path)? = try? SCIMPath.parse(text) else {
            throw SCIMError.invalidValue("\"\(field)\": \"\(text.prefix(64))\" is not an attribute name.")
        }
        return path
    }

    /// A comma-separated list (or, in a search body, a list) of attribute names.
    private static func paths(_ value: JSONValue?, field: String) throws(SCIMError) -> [SCIMAttributePath] {
        guard let value else { return [] }
        let names: [JSONValue]
        switch value {
        case .string(let text): names = text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }
        case .array(let array): names = array
        default: throw SCIMError.invalidValue("\"\(field)\" must list attribute names.")
        }
        guard names.count <= 100 else { throw SCIMError.tooMany("\"\(field)\" names more than 100 attributes.") }
        return try names.map { name throws(SCIMError) in try attributePath(name, field: field) }
    }
}

/// RFC 7644 §3.4.2's ListResponse, with integer counts (Okta reads them as integers).
struct SCIMListResponse<Resource: Encodable & Sendable>: Encodable, Sendable {
    let schemas = ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    let totalResults: Int
    let startIndex: Int
    let itemsPerPage: Int
    let Resources: [Resource]

    init(total: Int, startIndex: Int, resources: [Resource]) {
        totalResults = total
        self.startIndex = startIndex
        itemsPerPage = resources.count
        Resources = resources
    }
}

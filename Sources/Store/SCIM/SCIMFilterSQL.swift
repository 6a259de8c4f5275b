import Foundation
import Postgres
import SCIMCore
import WireFormat

/// Why a SCIM filter or sort cannot run: an attribute this resource does not have, or an
/// operator its type does not take. The HTTP layer answers 400 `invalidFilter`.
public struct SCIMQueryError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// How one SCIM attribute reads in SQL, for filters and sorting.
struct SCIMColumn: Sendable {
    enum Kind: Sendable {
        /// Text; `caseExact: false` compares lowercased (RFC 7643 `caseExact`).
        case string(caseExact: Bool)
        case boolean
        case dateTime
        /// A uuid column: `eq` is an index lookup; other operators compare its text.
        case uuid
    }

    /// An SQL fragment without values, written by the program (never from a request).
    var expression: SQL
    var kind: Kind
}

/// A multi-valued complex attribute (`emails`, `members`): its elements as rows of a FROM
/// item, with how each sub-attribute reads on an element. A filter on it is an EXISTS.
struct SCIMElements: Sendable {
    /// `jsonb_array_elements(…) e`, or `group_members e`: the alias is always `e`.
    var from: SQL
    /// Ties the elements to the outer row (`e.group_id = g.id`); "true" when `from` already does.
    var correlation: SQL
    var subAttributes: [String: SCIMColumn]
    /// The sub-attribute a bare `emails eq "x"` means (RFC 7644 §3.4.2.2: `value`).
    var defaultSubAttribute = "value"
}

/// The SQL shape of one SCIM resource type: which attributes filters may name.
struct SCIMResourceColumns: Sendable {
    /// Keyed by lowercased `name` or `name.sub`.
    var columns: [String: SCIMColumn]
    /// Keyed by lowercased attribute name.
    var elements: [String: SCIMElements]
    /// Schema URNs whose prefix on an attribute path is accepted (`urn:…:core:2.0:User:userName`).
    var schemas: [String]

    func column(_ path: SCIMAttributePath) throws(SCIMQueryError) -> SCIMColumn {
        try checkSchema(path)
        let key = ([path.name] + (path.subAttribute.map { [$0] } ?? [])).joined(separator: ".").lowercased()
        guard let column = columns[key] else { throw SCIMQueryError("unknown attribute \"\(path)\"") }
        return column
    }

    func checkSchema(_ path: SCIMAttributePath) throws(SCIMQueryError) {
        if let schema = path.schema, !schemas.contains(where: { $0.caseInsensitiveCompare(schema) == .orderedSame }) {
            throw SCIMQueryError("unknown schema \"\(schema)\"")
        }
    }
}

/// Turns a parsed SCIM filter into a SQL condition with bound parameters. Every value is a
/// parameter (never spliced into the text), bound by interpolation and numbered wherever the
/// condition lands in a statement. Comparisons stay bare (`lower(col) = lower(value::text)`), so
/// that the planner matches them to expression indexes; a missing attribute compares NULL, which
/// a WHERE treats as false, and `not (…)` reads NULL as false before negating, so that it still
/// means "does not match".
struct SCIMFilterSQL {
    let resource: SCIMResourceColumns

    func condition(_ filter: SCIMFilter) throws(SCIMQueryError) -> SQL {
        switch filter {
        case .and(let lhs, let rhs):
            return "(\(try condition(lhs)) AND \(try condition(rhs)))"
        case .or(let lhs, let rhs):
            return "(\(try condition(lhs)) OR \(try condition(rhs)))"
        case .not(let inner):
            return "(NOT coalesce(\(try condition(inner)), false))"
        case .present(let path):
            if let elements = try elements(for: path) {
                guard let sub = path.subAttribute else { return "EXISTS (SELECT 1 FROM \(elements.from) WHERE \(elements.correlation))" }
                let column = try subColumn(elements, sub, path)
                return "EXISTS (SELECT 1 FROM \(elements.from) WHERE \(elements.correlation) AND \(present(column)))"
            }
            return present(try resource.column(path))
        case .compare(let path, let op, let value):
            if let elements = try elements(for: path) {
                let column = try subColumn(elements, path.subAttribute ?? elements.defaultSubAttribute, path)
                return "EXISTS (SELECT 1 FROM \(elements.from) WHERE \(elements.correlation) AND \(try compare(column, op, value, path)))"
            }
            return try compare(try resource.column(path), op, value, path)
        case .valuePath(let path, let inner):
            guard path.subAttribute == nil, let elements = try elements(for: path) else {
                throw SCIMQueryError("\"\(path)\" is not a multi-valued attribute")
            }
            return "EXISTS (SELECT 1 FROM \(elements.from) WHERE \(elements.correlation) AND \(try elementCondition(inner, elements)))"
        }
    }

    /// The inner filter of `emails[…]`: its paths name sub-attributes of one element.
    private func elementCondition(_ filter: SCIMFilter, _ elements: SCIMElements) throws(SCIMQueryError) -> SQL {
        switch filter {
        case .and(let lhs, let rhs):
            return "(\(try elementCondition(lhs, elements)) AND \(try elementCondition(rhs, elements)))"
        case .or(let lhs, let rhs):
            return "(\(try elementCondition(lhs, elements)) OR \(try elementCondition(rhs, elements)))"
        case .not(let inner):
            return "(NOT coalesce(\(try elementCondition(inner, elements)), false))"
        case .present(let path):
            return present(try subColumn(elements, path.name, path))
        case .compare(let path, let op, let value):
            return try compare(try subColumn(elements, path.name, path), op, value, path)
        case .valuePath(let path, _):
            throw SCIMQueryError("value filters do not nest (\"\(path)\")")
        }
    }

    private func elements(for path: SCIMAttributePath) throws(SCIMQueryError) -> SCIMElements? {
        try resource.checkSchema(path)
        return resource.elements[path.name.lowercased()]
    }

    private func subColumn(_ elements: SCIMElements, _ name: String, _ path: SCIMAttributePath) throws(SCIMQueryError) -> SCIMColumn {
        guard let column = elements.subAttributes[name.lowercased()] else { throw SCIMQueryError("unknown attribute \"\(path)\"") }
        return column
    }

    private func present(_ column: SCIMColumn) -> SQL {
        switch column.kind {
        case .string: "coalesce(\(column.expression) <> '', false)"
        default: "(\(column.expression) IS NOT NULL)"
        }
    }

    private func compare(_ column: SCIMColumn, _ op: SCIMOperator, _ value: SCIMValue, _ path: SCIMAttributePath) throws(SCIMQueryError) -> SQL {
        let sql: SQL
        switch column.kind {
        case .string(let caseExact):
            guard case .string(let sent) = value else { throw SCIMQueryError("\"\(path)\" is a string: compare it with a string") }
            let lhs: SQL = caseExact ? column.expression : "lower(\(column.expression))"
            // SCIM text is stored in NFC (the API normalizes what IdPs write); so is what it is compared with.
            let text = SQL.Bind(sent.precomposedStringWithCanonicalMapping)
            let rhs: SQL = caseExact ? "\(text)::text" : "lower(\(text)::text)"
            sql = ordered(lhs, op, rhs, collate: true)
        case .uuid:
            guard case .string(let text) = value else { throw SCIMQueryError("\"\(path)\" is a string: compare it with a string") }
            switch op {
            case .eq, .ne:
                // A text that is no uuid names no row: `id eq "x"` matches nothing, `ne` everything.
                guard let id = UUID(uuidString: text) else { return op == .eq ? "false" : "true" }
                sql = "\(column.expression) \(unescaped: op == .eq ? "=" : "<>") \(id)::uuid"
            default:
                let sent = SQL.Bind(text)
                sql = ordered("\(column.expression)::text", op, "lower(\(sent)::text)", collate: true)
            }
        case .boolean:
            guard case .bool(let flag) = value else { throw SCIMQueryError("\"\(path)\" is a boolean: compare it with true or false") }
            switch op {
            case .eq: sql = "\(column.expression) = \(flag)::boolean"
            case .ne: sql = "\(column.expression) <> \(flag)::boolean"
            default: throw SCIMQueryError("\"\(op)\" does not apply to the boolean \"\(path)\"")
            }
        case .dateTime:
            guard case .string(let text) = value, let date = RFC3339.date(from: text) else {
                throw SCIMQueryError("\"\(path)\" is a dateTime: compare it with an RFC 3339 timestamp")
            }
            switch op {
            case .co, .sw, .ew: throw SCIMQueryError("\"\(op)\" does not apply to the dateTime \"\(path)\"")
            default: sql = ordered(column.expression, op, "\(SQL.Bind(date))::timestamptz", collate: false)
            }
        }
        return "(\(sql))"
    }

    /// `lhs op rhs`. `rhs` is named twice by `ew`: its value is a `SQL.Bind`, so that both are
    /// one parameter, as the filter sent one value.
    private func ordered(_ lhs: SQL, _ op: SCIMOperator, _ rhs: SQL, collate: Bool) -> SQL {
        // Byte order for gt/lt on text, the same on every server whatever its locale.
        let c: SQL = collate ? " COLLATE \"C\"" : ""
        switch op {
        case .eq: return "\(lhs) = \(rhs)"
        case .ne: return "\(lhs) <> \(rhs)"
        case .co: return "strpos(\(lhs), \(rhs)) > 0"
        case .sw: return "starts_with(\(lhs), \(rhs))"
        case .ew: return "right(\(lhs), char_length(\(rhs))) = \(rhs)"
        case .gt: return "\(lhs)\(c) > \(rhs)"
        case .ge: return "\(lhs)\(c) >= \(rhs)"
        case .lt: return "\(lhs)\(c) < \(rhs)"
        case .le: return "\(lhs)\(c) <= \(rhs)"
        }
    }

    /// `ORDER BY` for `sortBy`: a single-valued attribute, or a multi-valued one's primary value.
    static func orderBy(_ path: SCIMAttributePath, descending: Bool, in resource: SCIMResourceColumns, primary: [String: SQL]) throws(SCIMQueryError) -> SQL {
        let direction: SQL = descending ? "DESC NULLS LAST" : "ASC NULLS LAST"
        if let expression = primary[path.name.lowercased()], path.subAttribute == nil || path.subAttribute?.lowercased() == "value" {
            return "\(expression) \(direction)"
        }
        let column = try resource.column(path)
        switch column.kind {
        case .string(let caseExact):
            let key: SQL = caseExact ? column.expression : "lower(\(column.expression))"
            return "\(key) COLLATE \"C\" \(direction)"
        default:
            return "\(column.expression) \(direction)"
        }
    }
}

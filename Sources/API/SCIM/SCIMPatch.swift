import Foundation
import SCIMCore
import WireFormat

/// RFC 7644 §3.5.2 PATCH, applied to a resource's JSON (its writable attributes, as
/// `SCIMDocument.writable` gives them); the result is checked against the schema again before
/// anything is stored, so a PATCH can never store what a PUT could not.
///
/// Besides the RFC, what real IdPs send: Entra's PascalCase `op`s and `"True"`/`"False"`
/// booleans, pathless `replace` of `{"active": false}` and of dotted keys (`"name.givenName"`),
/// `remove` of `members` with a `value` list, and `add`/`replace` of
/// `emails[type eq "work"].value` on a user that has no such email yet (it is created).
struct SCIMPatch: Sendable {
    enum Operation: String, Sendable { case add, replace, remove }

    struct Step: Sendable {
        var operation: Operation
        var path: SCIMPath?
        var value: JSONValue?
    }

    static let schema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

    var steps: [Step]

    /// Reads a PatchOp body. A body without `Operations` is taken as the seed documents a PATCH:
    /// a plain resource, i.e. one pathless `replace` of everything it names.
    init(body: JSONValue) throws(SCIMError) {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The PATCH body must be a JSON object.") }
        guard let operationsKey = SCIMDocument.key("Operations", in: object) else {
            // A resource, as a PUT takes it: its read-only attributes are ignored (RFC 7644 §3.3).
            let readOnly: Set<String> = ["schemas", "id", "meta", "groups", "roles"]
            steps = [Step(operation: .replace, path: nil, value: .object(object.filter { !readOnly.contains($0.key.lowercased()) }))]
            return
        }
        guard case .array(let operations)? = object[operationsKey] else { throw SCIMError.invalidSyntax("\"Operations\" must be a list.") }
        guard !operations.isEmpty else { throw SCIMError.invalidSyntax("\"Operations\" is empty.") }
        guard operations.count <= SCIMLimits.maximumPatchOperations else {
            throw SCIMError.tooMany("A PATCH takes at most \(SCIMLimits.maximumPatchOperations) operations.")
        }
        steps = try operations.map { operation throws(SCIMError) in
            guard case .object(let fields) = operation else { throw SCIMError.invalidSyntax("Each operation must be an object.") }
            guard let op = SCIMDocument.key("op", in: fields).flatMap({ fields[$0]?.string }),
                  let kind = Operation(rawValue: op.lowercased())
            else { throw SCIMError.invalidSyntax("Each operation needs \"op\": add, replace or remove.") }
            var path: SCIMPath?
            if let key = SCIMDocument.key("path", in: fields), let value = fields[key], value != .null {
                guard let text = value.string else { throw SCIMError.invalidPath("\"path\" must be a string.") }
                do throws(SCIMFilterError) { path = try SCIMPath.parse(text) } catch { throw SCIMError.invalidPath("\"path\": \(error.message)") }
            }
            let value = SCIMDocument.key("value", in: fields).flatMap { fields[$0] }
            if kind != .remove, value == nil { throw SCIMError.invalidSyntax("\"\(op)\" needs a \"value\".") }
            if kind == .remove, path == nil { throw SCIMError.noTarget("\"remove\" needs a \"path\".") }
            return Step(operation: kind, path: path, value: value)
        }
    }

    /// The resource after every step, in order; all or nothing.
    func apply(to resource: [String: JSONValue], document: SCIMDocument) throws(SCIMError) -> [String: JSONValue] {
        var resource = resource
        for step in steps {
            if let path = step.path {
                try apply(step.operation, path: path, value: step.value, to: &resource, document: document)
            } else {
                // Pathless: every key of the value object is an attribute (or a dotted or
                // URN-qualified path, as Entra writes them) to add or replace.
                guard case .object(let object)? = step.value else { throw SCIMError.invalidValue("A PATCH without \"path\" needs an object \"value\".") }
                for (key, value) in object {
                    if let schema = document.schema(urn: key), schema.id != document.core.id, case .object(let inner) = value {
                        for (name, element) in inner where name.lowercased() != "schemas" {
                            try apply(step.operation, path: .attribute(SCIMAttributePath(schema: schema.id, name: name)), value: element, to: &resource, document: document)
                        }
                        continue
                    }
                    let path: SCIMPath
                    do throws(SCIMFilterError) { path = try SCIMPath.parse(key) } catch { throw SCIMError.invalidPath("\"\(key)\": \(error.message)") }
                    try apply(step.operation, path: path, value: value, to: &resource, document: document)
                }
            }
        }
        return resource
    }

    /// Where an attribute path points: its definition and the object that holds it (the top,
    /// or an extension's object under its URN).
    private func target(_ path: SCIMAttributePath, _ document: SCIMDocument) throws(SCIMError) -> (container: String?, attribute: SCIMAttribute) {
        var schema = document.core
        if let urn = path.schema {
            guard let named = document.schema(urn: urn) else { throw SCIMError.invalidPath("Unknown schema \"\(urn)\".") }
            schema = named
        }
        let lower = path.name.lowercased()
        if schema.id == document.core.id, ["id", "meta", "schemas", "groups"].contains(lower) {
            throw SCIMError.mutability("\"\(path.name)\" is read-only.")
        }
        if schema.id == document.core.id, lower == "externalid" {
            return (nil, .string("externalId", "", caseExact: true))
        }
        guard let attribute = schema.attribute(path.name) else { throw SCIMError.invalidPath("\"\(path)\" is not an attribute of \(schema.name).") }
        if attribute.mutability == .readOnly { throw SCIMError.mutability("\"\(attribute.name)\" is read-only.") }
        return (schema.id == document.core.id ? nil : schema.id, attribute)
    }

    private func apply(_ operation: Operation, path: SCIMPath, value: JSONValue?, to resource: inout [String: JSONValue], document: SCIMDocument) throws(SCIMError) {
        if case .attribute(let attributePath) = path, let urn = attributePath.schema, attributePath.subAttribute == nil,
           let schema = document.schema(urn: "\(urn):\(attributePath.name)"), schema.id != document.core.id {
            // The whole extension as the path (`urn:…:enterprise:2.0:User`): its object.
            switch operation {
            case .remove:
                resource[schema.id] = nil
            case .add, .replace:
                guard case .object(let inner)? = value else { throw SCIMError.invalidValue("\"\(schema.id)\" takes an object.") }
                for (name, element) in inner where name.lowercased() != "schemas" {
                    try apply(operation, path: .attribute(SCIMAttributePath(schema: schema.id, name: name)), value: element, to: &resource, document: document)
                }
            }
            return
        }
        switch path {
        case .attribute(let attributePath):
            let (container, attribute) = try target(attributePath, document)
            var scope = container.flatMap { resource[$0]?.objectValue } ?? (container == nil ? resource : [:])
            if let sub = attributePath.subAttribute {
                guard attribute.type == .complex, let subAttribute = attribute.subAttribute(sub) else {
                    throw SCIMError.invalidPath("\"\(attributePath)\" is not an attribute.")
                }
                if subAttribute.mutability == .readOnly { throw SCIMError.mutability("\"\(attributePath)\" is read-only.") }
                if attribute.multiValued {
                    // `emails.type`: every element's sub-attribute.
                    var elements = scope[attribute.name]?.arrayValue ?? []
                    if elements.isEmpty, operation == .remove { break }
                    elements = elements.map { element in
                        var object = element.objectValue ?? [:]
                        object[subAttribute.name] = operation == .remove ? nil : value
                        return .object(object)
                    }
                    scope[attribute.name] = .array(elements)
                } else {
                    var object = scope[attribute.name]?.objectValue ?? [:]
                    object[subAttribute.name] = operation == .remove ? nil : value
                    scope[attribute.name] = object.isEmpty ? nil : .object(object)
                }
            } else {
                switch operation {
                case .remove:
                    if attribute.multiValued, let value, case .array(let doomed) = value {
                        // `remove members` with the members to remove as its value (Entra, Okta).
                        scope[attribute.name] = .array(Self.without(doomed, in: scope[attribute.name]?.arrayValue ?? []))
                    } else {
                        scope[attribute.name] = nil
                    }
                case .add where attribute.multiValued:
                    let added = value?.arrayValue ?? (value.map { [$0] } ?? [])
                    var elements = scope[attribute.name]?.arrayValue ?? []
                    for element in added where !elements.contains(where: { Self.sameElement($0, element) }) { elements.append(element) }
                    scope[attribute.name] = .array(elements)
                case .add, .replace:
                    if attribute.type == .complex, !attribute.multiValued, case .object(let new)? = value {
                        // Sub-attributes not named are left as they are (§3.5.2.1, §3.5.2.3).
                        var object = scope[attribute.name]?.objectValue ?? [:]
                        for (key, element) in new { object[attribute.subAttribute(key)?.name ?? key] = element }
                        scope[attribute.name] = .object(object)
                    } else {
                        scope[attribute.name] = value
                    }
                }
            }
            if let container { resource[container] = scope.isEmpty ? nil : .object(scope) } else { resource = scope }

        case .valuePath(let attributePath, let filter, let sub):
            let (container, attribute) = try target(attributePath, document)
            guard attribute.multiValued else { throw SCIMError.invalidPath("\"\(attributePath.name)\" is not multi-valued.") }
            let subAttribute = try sub.map { name throws(SCIMError) in
                guard let found = attribute.subAttribute(name) else { throw SCIMError.invalidPath("\"\(attributePath.name).\(name)\" is not an attribute.") }
                if found.mutability == .readOnly { throw SCIMError.mutability("\"\(attributePath.name).\(name)\" is read-only.") }
                return found
            }
            var scope = container.flatMap { resource[$0]?.objectValue } ?? (container == nil ? resource : [:])
            var elements = scope[attribute.name]?.arrayValue ?? []
            let matches = elements.indices.filter { SCIMFilterMatch.matches(filter, elements[$0]) }
            switch operation {
            case .remove:
                if let subAttribute {
                    for index in matches {
                        var object = elements[index].objectValue ?? [:]
                        object[subAttribute.name] = nil
                        elements[index] = .object(object)
                    }
                } else {
                    // Only the matching elements: Entra's `members[value eq "…"]` removes one member.
                    elements = elements.indices.filter { !matches.contains($0) }.map { elements[$0] }
                }
            case .add, .replace:
                guard let value else { break }
                if matches.isEmpty {
                    // `emails[type eq "work"].value` on a user without a work email: a new
                    // element carrying the filter's equalities, as Entra expects.
                    guard let seed = SCIMFilterMatch.equalities(filter) else {
                        throw SCIMError.noTarget("No value of \"\(attributePath.name)\" matches \(filter).")
                    }
                    var object = seed
                    if let subAttribute { object[subAttribute.name] = value } else if case .object(let new) = value { for (k, v) in new { object[k] = v } }
                    elements.append(.object(object))
                } else {
                    for index in matches {
                        if let subAttribute {
                            var object = elements[index].objectValue ?? [:]
                            object[subAttribute.name] = value
                            elements[index] = .object(object)
                        } else if case .object(let new) = value {
                            var object = operation == .replace ? [:] : (elements[index].objectValue ?? [:])
                            for (k, v) in new { object[k] = v }
                            elements[index] = .object(object)
                        }
                    }
                }
            }
            scope[attribute.name] = elements.isEmpty ? nil : .array(elements)
            if let container { resource[container] = scope.isEmpty ? nil : .object(scope) } else { resource = scope }
        }
    }

    /// Two elements are the same value when their `value`s are (case-insensitively for text),
    /// or, without a `value`, when they are equal.
    static func sameElement(_ a: JSONValue, _ b: JSONValue) -> Bool {
        let lhs = a.objectValue.flatMap { object in SCIMDocument.key("value", in: object).flatMap { object[$0] } }
        let rhs = b.objectValue.flatMap { object in SCIMDocument.key("value", in: object).flatMap { object[$0] } }
        if let lhs, let rhs {
            if let l = lhs.string, let r = rhs.string { return l.caseInsensitiveCompare(r) == .orderedSame }
            return lhs == rhs
        }
        return a == b
    }

    private static func without(_ doomed: [JSONValue], in elements: [JSONValue]) -> [JSONValue] {
        elements.filter { element in !doomed.contains { sameElement($0, element) } }
    }
}

/// A SCIM filter evaluated on one element of a multi-valued attribute (PATCH value paths), in
/// memory: the element is small, the list was loaded to be changed anyway.
enum SCIMFilterMatch {
    static func matches(_ filter: SCIMFilter, _ element: JSONValue) -> Bool {
        guard case .object(let object) = element else { return false }
        switch filter {
        case .and(let lhs, let rhs): return matches(lhs, element) && matches(rhs, element)
        case .or(let lhs, let rhs): return matches(lhs, element) || matches(rhs, element)
        case .not(let inner): return !matches(inner, element)
        case .valuePath: return false
        case .present(let path):
            guard let value = field(path, object) else { return false }
            return value != .null && value != .string("")
        case .compare(let path, let op, let expected):
            guard let value = field(path, object) else { return op == .ne }
            return compare(value, op, expected)
        }
    }

    private static func field(_ path: SCIMAttributePath, _ object: [String: JSONValue]) -> JSONValue? {
        // Inside brackets the path names a sub-attribute (`value`, `type`).
        let name = path.subAttribute ?? path.name
        return SCIMDocument.key(name, in: object).flatMap { object[$0] }
    }

    private static func compare(_ value: JSONValue, _ op: SCIMOperator, _ expected: SCIMValue) -> Bool {
        switch (value, expected) {
        case (.string(let a), .string(let b)):
            let l = a.lowercased(), r = b.lowercased()
            switch op {
            case .eq: return l == r
            case .ne: return l != r
            case .co: return l.contains(r)
            case .sw: return l.hasPrefix(r)
            case .ew: return l.hasSuffix(r)
            case .gt: return l > r
            case .ge: return l >= r
            case .lt: return l < r
            case .le: return l <= r
            }
        case (.bool(let a), .bool(let b)):
            return op == .eq ? a == b : op == .ne ? a != b : false
        case (.string(let a), .bool(let b)):
            // Entra's string booleans, stored before canonicalization.
            let flag = a.lowercased() == "true"
            return op == .eq ? flag == b : op == .ne ? flag != b : false
        default:
            guard let a = value.number else { return op == .ne }
            let b: Double
            switch expected {
            case .integer(let i): b = Double(i)
            case .double(let d): b = d
            default: return op == .ne
            }
            switch op {
            case .eq: return a == b
            case .ne: return a != b
            case .gt: return a > b
            case .ge: return a >= b
            case .lt: return a < b
            case .le: return a <= b
            default: return false
            }
        }
    }

    /// The element a filter of equalities joined by `and` describes (`type eq "work"`), for
    /// creating it; nil for any other filter.
    static func equalities(_ filter: SCIMFilter) -> [String: JSONValue]? {
        switch filter {
        case .compare(let path, .eq, let value):
            let json: JSONValue
            switch value {
            case .string(let s): json = .string(s)
            case .bool(let b): json = .bool(b)
            case .integer(let i): json = .int(i)
            case .double(let d): json = .double(d)
            case .null: return nil
            }
            return [path.subAttribute ?? path.name: json]
        case .and(let lhs, let rhs):
            guard let a = equalities(lhs), let b = equalities(rhs) else { return nil }
            return a.merging(b) { first, _ in first }
        default:
            return nil
        }
    }
}

import Foundation
import SCIMCore
import Synchronization
import WireFormat

/// RFC 7644 §3.5.2 PATCH, applied to a resource's JSON (its writable attributes, as
/// `SCIMDocument.writable` gives them); the result is checked against the schema again before
/// anything is stored, so a PATCH can never store what a PUT could not.
///
/// Besides the RFC, what real IdPs send: Entra's PascalCase `op`s and `"True"`/`"False"`
/// booleans, pathless `replace` of `{"active": false}` and of dotted keys (`"name.givenName"`),
/// `remove` of `members` with a `value` list, and `add`/`replace` of
/// `emails[type eq "work"].value` on a user that has no such email yet (it is created).
///
/// The work is linear in the request and the resource: a PATCH carrying more values of an
/// attribute than the attribute may hold is refused before the resource is read
/// (`init(body:document:)`), and elements are merged and removed by their identity
/// (`ElementIdentity`) through sets, never by comparing each with all the others.
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

    /// Reads a PatchOp body for a resource of `document` and refuses it at once, before the
    /// resource is read or anything merged, when it carries more values of an attribute than
    /// the attribute may hold (`checkLimits`).
    init(body: JSONValue, document: SCIMDocument) throws(SCIMError) {
        try self.init(body: body)
        try checkLimits(document)
    }

    /// The resource after every step, in order; all or nothing. `counter` counts the work (a
    /// test's, to read it; else a fresh one) and bounds it (`SCIMLimits.maximumPatchWork`).
    func apply(to resource: [String: JSONValue], document: SCIMDocument, counter: SCIMWorkCounter? = nil) throws(SCIMError) -> [String: JSONValue] {
        // Always counted: the count is the PATCH's work budget (`SCIMLimits.maximumPatchWork`).
        let counter = counter ?? SCIMWorkCounter()
        var resource = resource
        var index = steps.startIndex
        while index < steps.endIndex {
            try counter.checkBudget()
            let step = steps[index]
            index += 1
            if step.operation == .add, case .attribute(let attributePath)? = step.path, attributePath.subAttribute == nil,
               (try? target(attributePath, document))?.attribute.multiValued == true,
               let run = Self.addRun(from: step, at: index, in: steps) {
                // A run of `add` of one multi-valued attribute (Entra adds members one operation
                // each): one merge of all their values, as adding them one by one would give.
                index = run.next
                try apply(.add, path: .attribute(attributePath), value: .array(run.values), to: &resource, document: document, counter: counter)
            } else if step.operation == .remove, case .valuePath(let attributePath, let filter, let sub)? = step.path, sub == nil,
               let first = Self.valueEquality(filter) {
                // Entra's `members[value eq "…"]`, one operation per member: a run of them on one
                // attribute removes its members in one pass over the list, not one pass each.
                var doomed: Set<ElementIdentity> = [first]
                while index < steps.endIndex, steps[index].operation == .remove,
                      case .valuePath(let nextPath, let nextFilter, let nextSub)? = steps[index].path,
                      nextSub == nil, nextPath == attributePath, let more = Self.valueEquality(nextFilter) {
                    doomed.insert(more)
                    index += 1
                }
                try remove(doomed, at: attributePath, from: &resource, document: document, counter: counter)
            } else if let path = step.path {
                try apply(step.operation, path: path, value: step.value, to: &resource, document: document, counter: counter)
            } else {
                // Pathless: every key of the value object is an attribute (or a dotted or
                // URN-qualified path, as Entra writes them) to add or replace.
                guard case .object(let object)? = step.value else { throw SCIMError.invalidValue("A PATCH without \"path\" needs an object \"value\".") }
                for (key, value) in object {
                    if let schema = document.schema(urn: key), schema.id != document.core.id, case .object(let inner) = value {
                        for (name, element) in inner where name.lowercased() != "schemas" {
                            try apply(step.operation, path: .attribute(SCIMAttributePath(schema: schema.id, name: name)), value: element, to: &resource, document: document, counter: counter)
                        }
                        continue
                    }
                    let path: SCIMPath
                    do throws(SCIMFilterError) { path = try SCIMPath.parse(key) } catch { throw SCIMError.invalidPath("\"\(key)\": \(error.message)") }
                    try apply(step.operation, path: path, value: value, to: &resource, document: document, counter: counter)
                }
            }
        }
        try counter.checkBudget()
        return resource
    }

    /// The values of `first` (an `add` with an attribute path) and of the `add`s of the same path
    /// right after it, and the index after them; nil when `first` is alone (nothing to merge).
    private static func addRun(from first: Step, at next: Int, in steps: [Step]) -> (values: [JSONValue], next: Int)? {
        var index = next
        while index < steps.endIndex, steps[index].operation == .add, steps[index].path == first.path { index += 1 }
        guard index > next else { return nil }
        var values: [JSONValue] = []
        for step in steps[(next - 1)..<index] {
            guard let value = step.value else { continue }
            if case .array(let elements) = value { values += elements } else { values.append(value) }
        }
        return (values, index)
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

    private func apply(_ operation: Operation, path: SCIMPath, value: JSONValue?, to resource: inout [String: JSONValue], document: SCIMDocument, counter: SCIMWorkCounter) throws(SCIMError) {
        if case .attribute(let attributePath) = path, let urn = attributePath.schema, attributePath.subAttribute == nil,
           let schema = document.schema(urn: "\(urn):\(attributePath.name)"), schema.id != document.core.id {
            // The whole extension as the path (`urn:…:enterprise:2.0:User`): its object.
            switch operation {
            case .remove:
                resource[schema.id] = nil
            case .add, .replace:
                guard case .object(let inner)? = value else { throw SCIMError.invalidValue("\"\(schema.id)\" takes an object.") }
                for (name, element) in inner where name.lowercased() != "schemas" {
                    try apply(operation, path: .attribute(SCIMAttributePath(schema: schema.id, name: name)), value: element, to: &resource, document: document, counter: counter)
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
                        scope[attribute.name] = .array(Self.without(doomed, in: scope[attribute.name]?.arrayValue ?? [], counter: counter))
                    } else {
                        scope[attribute.name] = nil
                    }
                case .add where attribute.multiValued:
                    let added = value?.arrayValue ?? (value.map { [$0] } ?? [])
                    scope[attribute.name] = .array(Self.merging(added, into: scope[attribute.name]?.arrayValue ?? [], counter: counter))
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
            counter.add(elements.count)
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
                    let doomed = Set(matches)
                    elements = elements.indices.filter { !doomed.contains($0) }.map { elements[$0] }
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

    /// `remove` of `attribute[value eq "…"]` for each of `doomed` at once: what running those
    /// operations one after the other leaves (`valueEquality` matches exactly the elements
    /// `SCIMFilterMatch` matches), in one pass.
    private func remove(_ doomed: Set<ElementIdentity>, at attributePath: SCIMAttributePath, from resource: inout [String: JSONValue], document: SCIMDocument, counter: SCIMWorkCounter) throws(SCIMError) {
        let (container, attribute) = try target(attributePath, document)
        guard attribute.multiValued else { throw SCIMError.invalidPath("\"\(attributePath.name)\" is not multi-valued.") }
        var scope = container.flatMap { resource[$0]?.objectValue } ?? (container == nil ? resource : [:])
        let elements = scope[attribute.name]?.arrayValue ?? []
        counter.add(doomed.count + elements.count)
        let kept = elements.filter { !doomed.contains(Self.identity($0)) }
        scope[attribute.name] = kept.isEmpty ? nil : .array(kept)
        if let container { resource[container] = scope.isEmpty ? nil : .object(scope) } else { resource = scope }
    }

    // MARK: Elements of multi-valued attributes

    /// What makes two elements of a multi-valued attribute the same value, as a key of a set:
    /// the same `value` (strings case-insensitively, lowercased as `SCIMFilterMatch` compares
    /// them, so `members[value eq "X"]` and a `remove` listing `{"value": "x"}` agree), or,
    /// without a `value`, the whole element.
    enum ElementIdentity: Hashable, Sendable {
        /// A string `value`, lowercased.
        case text(String)
        /// A `value` of another JSON type.
        case value(JSONValue)
        /// An element without a `value` (or not an object): all of it.
        case element(JSONValue)
    }

    static func identity(_ element: JSONValue) -> ElementIdentity {
        if case .object(let object) = element, let key = SCIMDocument.key("value", in: object), let value = object[key] {
            if case .string(let text) = value { return .text(text.lowercased()) }
            return .value(value)
        }
        return .element(element)
    }

    /// Two elements are the same value when their `value`s are (case-insensitively for text),
    /// or, without a `value`, when they are equal.
    static func sameElement(_ a: JSONValue, _ b: JSONValue) -> Bool {
        identity(a) == identity(b)
    }

    /// `elements` with each of `added` that is not already there (nor earlier in `added`)
    /// appended, in order: one set of identities, linear.
    static func merging(_ added: [JSONValue], into elements: [JSONValue], counter: SCIMWorkCounter? = nil) -> [JSONValue] {
        var elements = elements
        counter?.add(elements.count + added.count)
        var present = Set<ElementIdentity>(minimumCapacity: elements.count + added.count)
        for element in elements { present.insert(identity(element)) }
        for element in added where present.insert(identity(element)).inserted { elements.append(element) }
        return elements
    }

    /// `elements` without those that are the same as one of `doomed`: one set, linear.
    static func without(_ doomed: [JSONValue], in elements: [JSONValue], counter: SCIMWorkCounter? = nil) -> [JSONValue] {
        let identities = Set(doomed.map { identity($0) })
        counter?.add(doomed.count + elements.count)
        return elements.filter { !identities.contains(identity($0)) }
    }

    /// The identity of the elements a value-path filter `value eq "…"` matches (a string), or
    /// nil for any other filter. `SCIMFilterMatch` finds `value` as `identity` does (the first
    /// key that is `value` case-insensitively) and compares strings lowercased, and matches no
    /// element whose `value` is not a string: the elements it matches are exactly those of
    /// this identity.
    static func valueEquality(_ filter: SCIMFilter) -> ElementIdentity? {
        guard case .compare(let path, .eq, .string(let text)) = filter,
              (path.subAttribute ?? path.name).caseInsensitiveCompare("value") == .orderedSame
        else { return nil }
        return .text(text.lowercased())
    }

    // MARK: Limits, before the work

    /// Values the operations carry, per attribute (`<schema>:<name>`): those added or
    /// replaced, and those named for removal, counted apart.
    private struct Tally {
        var added: [String: Int] = [:]
        var removed: [String: Int] = [:]

        mutating func count(_ values: Int, of attribute: SCIMAttribute, in schema: String, removing: Bool, replacing: Bool = false) throws(SCIMError) {
            guard attribute.multiValued, values > 0 || replacing else { return }
            let key = schema + ":" + attribute.name
            let limit = SCIMLimits.maximumValues(of: attribute)
            if replacing {
                // A replace leaves only its own values: what came before it no longer counts.
                added[key] = values
                guard values <= limit else { throw SCIMLimits.tooManyValues(attribute, path: attribute.name) }
            } else if removing {
                let total = removed[key, default: 0] + values
                removed[key] = total
                guard total <= limit else {
                    if attribute.name == "members" { throw SCIMError.tooMany("A PATCH removes at most \(limit) members.") }
                    throw SCIMError.invalidValue("A PATCH removes at most \(limit) values of \"\(attribute.name)\".")
                }
            } else {
                let total = added[key, default: 0] + values
                added[key] = total
                guard total <= limit else { throw SCIMLimits.tooManyValues(attribute, path: attribute.name) }
            }
        }
    }

    /// Refuses a PATCH whose operations, together, add (or replace with) more values of one
    /// multi-valued attribute than it may hold (`SCIMLimits.maximumValues(of:)`: 100 for a
    /// user's, 10,000 members for a group), or name more for removal, with the error the
    /// result would have had (`invalidValue` for a user's attributes, `tooMany` for members).
    /// A value path that may create an element counts as one value. Cheap: one look at each
    /// operation, nothing merged, no resource read. Paths that name no attribute are left to
    /// `apply`, which says what is wrong with them.
    func checkLimits(_ document: SCIMDocument) throws(SCIMError) {
        var tally = Tally()
        for step in steps {
            let operation = step.operation
            if let path = step.path {
                try countValues(path, step.value, operation, document, into: &tally)
            } else if case .object(let object)? = step.value {
                for (key, value) in object {
                    if let schema = document.schema(urn: key), schema.id != document.core.id, case .object(let inner) = value {
                        for (name, element) in inner where name.lowercased() != "schemas" {
                            try countValues(.attribute(SCIMAttributePath(schema: schema.id, name: name)), element, operation, document, into: &tally)
                        }
                        continue
                    }
                    guard let path = try? SCIMPath.parse(key) else { continue }
                    try countValues(path, value, operation, document, into: &tally)
                }
            }
        }
    }

    private func countValues(_ path: SCIMPath, _ value: JSONValue?, _ operation: Operation, _ document: SCIMDocument, into tally: inout Tally) throws(SCIMError) {
        let removing = operation == .remove
        switch path {
        case .attribute(let attributePath):
            if let urn = attributePath.schema, attributePath.subAttribute == nil,
               let schema = document.schema(urn: "\(urn):\(attributePath.name)"), schema.id != document.core.id {
                // The whole extension: each of its attributes.
                guard !removing, case .object(let inner)? = value else { return }
                for (name, element) in inner where name.lowercased() != "schemas" {
                    try countValues(.attribute(SCIMAttributePath(schema: schema.id, name: name)), element, operation, document, into: &tally)
                }
                return
            }
            guard attributePath.subAttribute == nil, let value, let found = try? target(attributePath, document) else { return }
            let values = value.arrayValue?.count ?? 1
            try tally.count(values, of: found.attribute, in: found.container ?? document.core.id, removing: removing, replacing: operation == .replace)
        case .valuePath(let attributePath, _, _):
            guard let found = try? target(attributePath, document) else { return }
            try tally.count(1, of: found.attribute, in: found.container ?? document.core.id, removing: removing)
        }
    }
}

/// The work a SCIM PATCH does, in units (an element's identity computed or looked up, an element
/// compared with a value filter): its budget (`limit`, checked between operations), and what
/// tests read to assert that the work grows linearly with the request, never how long it takes.
final class SCIMWorkCounter: Sendable {
    private let units = Mutex(0)
    /// Past this many units the PATCH is refused between two of its operations (each one's work
    /// is bounded by the value limits), so the whole is bounded by it plus one operation.
    let limit: Int

    init(limit: Int = SCIMLimits.maximumPatchWork) {
        self.limit = limit
    }

    func add(_ count: Int) { units.withLock { $0 += count } }

    var count: Int { units.withLock { $0 } }

    /// Throws `tooMany` once the work done has passed `limit`.
    func checkBudget() throws(SCIMError) {
        guard count > limit else { return }
        throw SCIMError.tooMany("This PATCH would do more than \(limit) units of work on the resource; send its value filters and changes in fewer operations.")
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

import Foundation
import SCIMCore
import WireFormat

/// SCIM resources as JSON checked against their schemas: attribute names in the schema's
/// spelling (they are case-insensitive on the wire), values of the declared types, read-only
/// attributes kept out of what a client writes, and nothing the schema does not name.
struct SCIMDocument: Sendable {
    let core: SCIMSchema
    let extensions: [SCIMSchema]
    /// Attributes every resource has (RFC 7643 §3.1) and clients never write.
    static let commonReadOnly: Set<String> = ["id", "meta", "schemas"]

    func schema(urn: String) -> SCIMSchema? {
        ([core] + extensions).first { $0.id.caseInsensitiveCompare(urn) == .orderedSame }
    }

    /// What a client asks a resource to be (POST, PUT, a PATCH's result): canonical names and
    /// types; read-only attributes (`id`, `meta`, `roles`, `groups`) dropped, as RFC 7644 §3.3
    /// says to ignore them; `externalId` kept.
    func writable(_ body: JSONValue) throws(SCIMError) -> [String: JSONValue] {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("The resource must be a JSON object.") }
        var out: [String: JSONValue] = [:]
        for (key, value) in object {
            if Self.commonReadOnly.contains(key.lowercased()) || key.lowercased() == "groups" { continue }
            if key.caseInsensitiveCompare("externalId") == .orderedSame {
                if value == .null { continue }
                guard case .string = value else { throw SCIMError.invalidValue("\"externalId\" must be a string.") }
                out["externalId"] = value
                continue
            }
            if let schema = schema(urn: key), schema.id != core.id {
                if value == .null { continue }
                guard case .object(let inner) = value else { throw SCIMError.invalidValue("\"\(key)\" must be an object of \(schema.name) attributes.") }
                var fields: [String: JSONValue] = [:]
                for (name, element) in inner where name.lowercased() != "schemas" {
                    guard let attribute = schema.attribute(name) else { throw SCIMError.invalidValue("\"\(name)\" is not an attribute of \(schema.id).") }
                    if attribute.mutability == .readOnly { continue }
                    if let value = try canonical(element, attribute, path: "\(schema.name).\(attribute.name)") { fields[attribute.name] = value }
                }
                if !fields.isEmpty { out[schema.id] = .object(fields) }
                continue
            }
            guard let attribute = core.attribute(key) else {
                if key.caseInsensitiveCompare("password") == .orderedSame {
                    throw SCIMError.invalidValue("Passwords are not managed over SCIM: users sign in through the identity provider.")
                }
                throw SCIMError.invalidValue("\"\(key)\" is not an attribute of \(core.name) (\(core.id)).")
            }
            if attribute.mutability == .readOnly { continue }
            if let value = try canonical(value, attribute, path: attribute.name) { out[attribute.name] = value }
        }
        return out
    }

    /// A value of `attribute`, canonical; nil for "unassigned" (null, an empty list or object).
    func canonical(_ value: JSONValue, _ attribute: SCIMAttribute, path: String) throws(SCIMError) -> JSONValue? {
        if value == .null { return nil }
        if attribute.multiValued {
            // A single value where a list belongs is taken as a list of one, as IdPs send it.
            let elements: [JSONValue]
            if case .array(let array) = value { elements = array } else { elements = [value] }
            if elements.count > SCIMLimits.maximumValues, attribute.name != "members" {
                throw SCIMLimits.tooManyValues(attribute, path: path)
            }
            var single = attribute
            single.multiValued = false
            var canonical: [JSONValue] = []
            for element in elements {
                if let value = try self.canonical(element, single, path: path) { canonical.append(value) }
            }
            if canonical.isEmpty { return nil }
            if attribute.subAttribute("primary") != nil {
                let primaries = canonical.filter { $0.objectValue?["primary"] == .bool(true) }.count
                if primaries > 1 { throw SCIMError.invalidValue("At most one of \"\(path)\" may be primary.") }
            }
            return .array(canonical)
        }
        switch attribute.type {
        case .string, .reference, .dateTime:
            guard case .string(let text) = value else { throw SCIMError.invalidValue("\"\(path)\" must be a string.") }
            if text.utf8.count > SCIMLimits.maximumStringBytes {
                throw SCIMError.invalidValue("\"\(path)\" is longer than \(SCIMLimits.maximumStringBytes) bytes.")
            }
            return value
        case .boolean:
            switch value {
            case .bool: return value
            // Entra sends "True"/"False" for booleans (a well-known quirk of its SCIM client).
            case .string(let text) where text.lowercased() == "true": return .bool(true)
            case .string(let text) where text.lowercased() == "false": return .bool(false)
            default: throw SCIMError.invalidValue("\"\(path)\" must be a boolean.")
            }
        case .integer:
            guard value.integer != nil else { throw SCIMError.invalidValue("\"\(path)\" must be an integer.") }
            return value
        case .decimal:
            guard value.number != nil else { throw SCIMError.invalidValue("\"\(path)\" must be a number.") }
            return value
        case .complex:
            guard case .object(let object) = value else { throw SCIMError.invalidValue("\"\(path)\" must be an object.") }
            var out: [String: JSONValue] = [:]
            for (key, element) in object {
                guard let sub = attribute.subAttribute(key) else { throw SCIMError.invalidValue("\"\(path).\(key)\" is not an attribute.") }
                if sub.mutability == .readOnly { continue }
                if let value = try canonical(element, sub, path: "\(path).\(sub.name)") { out[sub.name] = value }
            }
            return out.isEmpty ? nil : .object(out)
        }
    }

    /// RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes` on a resource as returned: `id`
    /// and `schemas` always stay; an attribute named by itself keeps or drops all of it, a
    /// sub-attribute path only that part.
    static func project(_ resource: JSONValue, attributes: [SCIMAttributePath], excluded: [SCIMAttributePath]) -> JSONValue {
        guard case .object(var object) = resource else { return resource }
        let always: Set<String> = ["id", "schemas"]
        if !attributes.isEmpty {
            var kept: [String: JSONValue] = [:]
            for (key, value) in object where always.contains(key) { kept[key] = value }
            for path in attributes {
                let (container, name) = locate(path, in: object)
                guard let found = lookup(object, container: container, name: name) else { continue }
                if let sub = path.subAttribute {
                    kept = merging(kept, container: container, name: name, value: select(found, sub: sub))
                } else {
                    kept = merging(kept, container: container, name: name, value: found)
                }
            }
            object = kept
        }
        for path in excluded {
            let (container, name) = locate(path, in: object)
            guard !always.contains(name) || container != nil else { continue }
            if let sub = path.subAttribute {
                guard let found = lookup(object, container: container, name: name) else { continue }
                object = merging(object, container: container, name: name, value: dropping(found, sub: sub), replace: true)
            } else if let container {
                if case .object(var inner)? = object[container] { inner[key(name, in: inner) ?? name] = nil; object[container] = .object(inner) }
            } else if let existing = key(name, in: object) {
                object[existing] = nil
            }
        }
        return .object(object)
    }

    /// Where a path lives: in an extension object (keyed by its URN) or at the top.
    private static func locate(_ path: SCIMAttributePath, in object: [String: JSONValue]) -> (container: String?, name: String) {
        if let schema = path.schema, let urn = key(schema, in: object), case .object = object[urn] { return (urn, path.name) }
        if path.schema == nil, let urn = key(path.name, in: object), urn.hasPrefix("urn:") { return (nil, urn) }
        return (nil, path.name)
    }

    static func key(_ name: String, in object: [String: JSONValue]) -> String? {
        object.keys.first { $0.caseInsensitiveCompare(name) == .orderedSame }
    }

    private static func lookup(_ object: [String: JSONValue], container: String?, name: String) -> JSONValue? {
        let scope: [String: JSONValue]
        if let container { guard case .object(let inner)? = object[container] else { return nil }; scope = inner } else { scope = object }
        return key(name, in: scope).flatMap { scope[$0] }
    }

    private static func merging(_ object: [String: JSONValue], container: String?, name: String, value: JSONValue?, replace: Bool = false) -> [String: JSONValue] {
        var object = object
        guard let value else { return object }
        if let container {
            var inner = object[container]?.objectValue ?? [:]
            inner[key(name, in: inner) ?? name] = replace ? value : merged(inner[key(name, in: inner) ?? name], value)
            object[container] = .object(inner)
        } else {
            let existing = key(name, in: object) ?? name
            object[existing] = replace ? value : merged(object[existing], value)
        }
        return object
    }

    private static func merged(_ old: JSONValue?, _ new: JSONValue) -> JSONValue {
        if case .object(var a)? = old, case .object(let b) = new { for (k, v) in b { a[k] = v }; return .object(a) }
        return new
    }

    private static func select(_ value: JSONValue, sub: String) -> JSONValue? {
        switch value {
        case .object(let object): return key(sub, in: object).map { .object([$0: object[$0]!]) }
        case .array(let array): return .array(array.compactMap { select($0, sub: sub) })
        default: return nil
        }
    }

    private static func dropping(_ value: JSONValue, sub: String) -> JSONValue {
        switch value {
        case .object(var object): if let k = key(sub, in: object) { object[k] = nil }; return .object(object)
        case .array(let array): return .array(array.map { dropping($0, sub: sub) })
        default: return value
        }
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? { if case .object(let object) = self { object } else { nil } }
    var arrayValue: [JSONValue]? { if case .array(let array) = self { array } else { nil } }
}

/// Bounds on what an IdP may store through SCIM (see docs/security.md).
enum SCIMLimits {
    /// Longest string attribute value.
    static let maximumStringBytes = 2048
    /// Most values of one multi-valued attribute of a user (members of a group are not bound by this).
    static let maximumValues = 100
    /// Most resources in one list page (`count` above it is lowered to it, RFC 7644 §3.4.2.4).
    static let maximumResults = 1000
    /// Most operations in one PATCH.
    static let maximumPatchOperations = 1000
    /// Most work one PATCH may do, in `SCIMWorkCounter` units (an element's identity computed or
    /// looked up, an element compared with a value filter). A PATCH in the shapes IdPs send —
    /// one `add` of many members, runs of single-member adds or `members[value eq …]` removes,
    /// which are merged into one pass each — costs a few units per value; interleaving filtered
    /// operations on a 10,000-member group a thousand times would cost 10⁷, and is refused.
    static let maximumPatchWork = 2_000_000

    /// Most values `attribute` (multi-valued) may hold: a group's members are bound by
    /// `SCIMGroupResource.maximumMembers`, a user's attributes by `maximumValues`.
    static func maximumValues(of attribute: SCIMAttribute) -> Int {
        attribute.name == "members" ? SCIMGroupResource.maximumMembers : maximumValues
    }

    /// A group with more members than `SCIMGroupResource.maximumMembers`.
    static let tooManyMembers = SCIMError.tooMany("A group takes at most \(SCIMGroupResource.maximumMembers) members over SCIM.")

    /// The error of a resource (or a PATCH) with more values of `attribute` than it may hold:
    /// `tooMany` for members (as `SCIMGroupResource.write` says it), `invalidValue` for a user's
    /// attributes (as `SCIMDocument.canonical` says it).
    static func tooManyValues(_ attribute: SCIMAttribute, path: String) -> SCIMError {
        if attribute.name == "members" { return tooManyMembers }
        return SCIMError.invalidValue("\"\(path)\" has more than \(maximumValues) values.")
    }
}

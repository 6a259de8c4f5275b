import Foundation
import Store
import WireFormat

/// A group as a SCIM Group resource, and a client's Group body as a `SCIMGroupWrite`.
enum SCIMGroupResource {
    static let document = SCIMDocument(core: .group, extensions: [])

    /// The part a PATCH works on: `displayName`, `externalId`, `members` (by `value`).
    static func writable(_ group: SCIMGroup) -> [String: JSONValue] {
        var out: [String: JSONValue] = ["displayName": .string(group.group.name)]
        if let externalID = group.externalID { out["externalId"] = .string(externalID) }
        if let members = group.memberIDs, !members.isEmpty {
            out["members"] = .array(members.map { .object(["value": .string($0.uuidString.lowercased())]) })
        }
        return out
    }

    static func json(_ group: SCIMGroup, base: String) -> JSONValue {
        var out = writable(group)
        let id = group.group.id.uuidString.lowercased()
        out["schemas"] = .array([.string(SCIMSchema.groupURN)])
        out["id"] = .string(id)
        if let members = group.memberIDs, !members.isEmpty {
            out["members"] = .array(members.map { member in
                let value = member.uuidString.lowercased()
                // No `display`: clients compare the members they wrote with those returned.
                return .object(["value": .string(value), "type": "User", "$ref": .string("\(base)/Users/\(value)")])
            })
        }
        out["meta"] = .object([
            "resourceType": "Group",
            "created": .string(RFC3339.string(from: group.createdAt)),
            "lastModified": .string(RFC3339.string(from: group.updatedAt)),
            "location": .string("\(base)/Groups/\(id)"),
            "version": .string(SCIMController.etag(group.version)),
        ])
        return .object(out)
    }

    static func write(_ body: [String: JSONValue]) throws(SCIMError) -> SCIMGroupWrite {
        let canonical = try document.writable(.object(body))
        guard case .string(let name)? = canonical["displayName"] else { throw SCIMError.invalidValue("\"displayName\" is required.") }
        // The one group-name rule (`GroupNames`), as an identity provider names groups.
        let displayName = GroupNames.normalized(name)
        if let problem = GroupNames.problem(displayName, source: .identityProvider) {
            throw SCIMError.invalidValue("\"displayName\" \(problem).")
        }
        // In the order given, each once: a set says what is already there (a search of the list
        // for each member made 10,000 members 50 million comparisons).
        var memberIDs: [UUID] = []
        var seen: Set<UUID> = []
        for member in canonical["members"]?.arrayValue ?? [] {
            guard let value = member.objectValue?["value"]?.string, let id = UUID(uuidString: value) else {
                throw SCIMError.invalidValue("Each member needs the \"value\" of a User's id.")
            }
            if seen.insert(id).inserted { memberIDs.append(id) }
        }
        guard memberIDs.count <= SCIMGroupResource.maximumMembers else { throw SCIMLimits.tooManyMembers }
        return SCIMGroupWrite(displayName: displayName, externalID: canonical["externalId"]?.string, memberIDs: memberIDs)
    }

    /// Most members of one group written over SCIM (the product's own cap on a PATCH).
    static let maximumMembers = 10_000
}

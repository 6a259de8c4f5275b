import Foundation
import Store
import WireFormat

/// A product user as a SCIM User resource, and a client's User body as a `SCIMUserWrite`.
enum SCIMUserResource {
    static let document = SCIMDocument(core: .user, extensions: [.enterpriseUser])

    /// Kept with the attributes after `remove active`: the user is suspended and SCIM shows
    /// `active` unassigned until an IdP sets it again. No SCIM attribute name starts with `$`
    /// but `$ref`, and a client's body can never carry it (unknown attributes are refused).
    static let activeUnassigned = "$activeUnassigned"

    /// The writable attributes as stored (what `SCIMDocument.writable` accepted), with
    /// `externalId`: the part of a resource a PATCH works on.
    static func writable(_ user: SCIMUser) -> [String: JSONValue] {
        var out = user.attributes
        out["userName"] = .string(user.userName)
        if let externalID = user.externalID { out["externalId"] = .string(externalID) }
        let unassigned = out.removeValue(forKey: activeUnassigned) == .bool(true)
        if !(unassigned && user.user.status == .suspended) { out["active"] = .bool(user.user.status != .suspended) }
        if out["emails"] == nil, !user.isLinked {
            // Before SCIM links a user, its one email is the product's.
            out["emails"] = .array([.object(["value": .string(user.user.email), "primary": .bool(true)])])
        }
        return out
    }

    /// The resource as returned: RFC 7643's User, with `productKeys` (the seed's base
    /// path) `roles` items carrying Coder's `name`/`display_name` beside `value`/`display`, and the keys the seed gives a PATCH answer, codersdk.User's `avatar_url,
    /// created_at, email, last_seen_at, organization_ids, status, username`. Coder's base path
    /// leaves them out: strict SCIM clients (scim2-tester's models among them) refuse a User
    /// with keys its schemas do not name.
    static func json(_ user: SCIMUser, base: String, productKeys: Bool) -> JSONValue {
        var out = writable(user)
        var schemas: [JSONValue] = [.string(SCIMSchema.userURN)]
        if out[SCIMSchema.enterpriseUserURN] != nil { schemas.append(.string(SCIMSchema.enterpriseUserURN)) }
        out["schemas"] = .array(schemas)
        out["id"] = .string(user.user.id.uuidString.lowercased())
        out["meta"] = .object([
            "resourceType": "User",
            "created": .string(RFC3339.string(from: user.user.createdAt)),
            "lastModified": .string(RFC3339.string(from: user.user.updatedAt)),
            "location": .string("\(base)/Users/\(user.user.id.uuidString.lowercased())"),
            "version": .string(SCIMController.etag(user.version)),
        ])
        // The site roles, as codersdk.User lists them ("member" is implied, not listed).
        let roles = user.user.siteRoles.sorted().map { name -> JSONValue in
            let display = Role(rawValue: name)?.displayName ?? name
            var role: [String: JSONValue] = ["value": .string(name), "display": .string(display)]
            if productKeys {
                role["name"] = .string(name)
                role["display_name"] = .string(display)
            }
            return .object(role)
        }
        if !roles.isEmpty { out["roles"] = .array(roles) }
        guard productKeys else { return .object(out) }
        out["avatar_url"] = .string(user.user.avatarURL)
        out["created_at"] = .string(RFC3339.string(from: user.user.createdAt))
        out["email"] = .string(user.user.email)
        out["last_seen_at"] = .string(RFC3339.string(from: user.user.lastSeenAt))
        out["organization_ids"] = .array(user.user.organizationIDs.map { .string($0.uuidString.lowercased()) })
        out["status"] = .string(user.user.status.rawValue)
        out["username"] = .string(user.user.username)
        return .object(out)
    }

    /// A User body (POST, PUT, or a PATCH's result) as what the store keeps: `userName`
    /// required, `active` read (absent: unchanged, or true for a new user), the primary email
    /// (else the first) as the product email.
    static func write(_ body: [String: JSONValue]) throws(SCIMError) -> SCIMUserWrite {
        let canonical = try document.writable(.object(body))
        guard case .string(let userName)? = canonical["userName"], !userName.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SCIMError.invalidValue("\"userName\" is required.")
        }
        var attributes = canonical
        attributes["userName"] = nil
        attributes["active"] = nil
        let externalID = attributes.removeValue(forKey: "externalId")?.string
        let active = canonical["active"]?.bool
        let emails = canonical["emails"]?.arrayValue ?? []
        let primary = emails.first { $0.objectValue?["primary"] == .bool(true) } ?? emails.first
        var email = primary?.objectValue?["value"]?.string
        if email == nil, Names.isValidEmail(userName) { email = userName }
        if let given = email, !Names.isValidEmail(given) {
            throw SCIMError.invalidValue("\"emails\": \"\(given.prefix(64))\" is not an email address.")
        }
        return SCIMUserWrite(userName: userName, externalID: externalID, attributes: attributes, active: active, email: email)
    }

    /// Product usernames to try for a new SCIM user, in order: the userName if it is a valid
    /// one, else it normalized as Coder does (the domain of an email dropped, lowercase, runs of
    /// other characters turned into one hyphen, at most 32 characters), then with random suffixes.
    static func usernameCandidates(for write: SCIMUserWrite) -> [String] {
        if Names.isValidUsername(write.userName) { return [write.userName] + suffixed(write.userName) }
        var source = write.userName
        if let at = source.firstIndex(of: "@") { source = String(source[..<at]) }
        if source.isEmpty, let email = write.email { source = String(email.prefix { $0 != "@" }) }
        var normalized = ""
        for scalar in source.lowercased().unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                normalized.unicodeScalars.append(scalar)
            } else if !normalized.isEmpty, !normalized.hasSuffix("-") {
                normalized += "-"
            }
        }
        normalized = String(normalized.prefix(32))
        while normalized.hasSuffix("-") { normalized.removeLast() }
        if !Names.isValidUsername(normalized) { normalized = normalized.isEmpty ? "user" : "user-" + normalized.prefix(26) }
        while normalized.hasSuffix("-") { normalized.removeLast() }
        return [normalized] + suffixed(normalized)
    }

    private static func suffixed(_ name: String) -> [String] {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return (0..<5).map { _ in
            var base = String(name.prefix(27))
            while base.hasSuffix("-") { base.removeLast() }
            return base + "-" + String((0..<4).map { _ in alphabet.randomElement()! })
        }
    }
}

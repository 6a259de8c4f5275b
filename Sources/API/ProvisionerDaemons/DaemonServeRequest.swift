import Foundation
import HTTPTypes
import Hummingbird
import ProvisionerProtocol
import Provisioning
import Store

/// What a daemon's upgrade asks for: its query (`provisioner`, `tag`, `name`, `instance_id`) and
/// its build-version header, checked with Coder's messages. The first failing check is the one
/// answered, so they run in this order. Between the tags and the name, the tags' scope is checked
/// against the credential in the organization: that is why the subject and the organization come in.
struct DaemonServeRequest: Sendable {
    let provisioners: [String]
    /// Normalized (`ProvisionerTags.normalize`): a scope always, and the owner it implies.
    let tags: [String: String]
    let name: String
    let instanceID: String
    let version: String

    init(query: Parameters, headers: HTTPFields, subject: Subject?, organizationID: UUID) throws {
        // Parameters, with Coder's messages.
        let provisioners = query.getAll("provisioner")
        guard !provisioners.isEmpty else { throw APIError(.badRequest, "The provisioner query parameter must be specified.") }
        for provisioner in provisioners where !ProvisionerDaemonsController.knownProvisioners.contains(provisioner) {
            throw APIError(.badRequest, "Unknown provisioner type \"\(provisioner)\"")
        }
        var tags: [String: String]
        do {
            tags = try ProvisionerTagList.parse(query.getAll("tag"))
        } catch {
            throw APIError(.badRequest, error.description)
        }
        tags = ProvisionerTags.normalize(tags, userID: subject?.userID ?? (tags["scope"] == "user" ? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) : nil))
        if let subject, tags[ProvisionerTags.scope] == ProvisionerTags.organizationScope,
           !RBAC.can(subject, .create, .provisionerDaemons(organization: organizationID)) {
            throw APIError(.forbidden, "You aren't allowed to create provisioner daemons for the organization.")
        }
        let name = query["name"].flatMap { $0.isEmpty ? nil : String($0) } ?? "daemon-\(Tokens.random(8).lowercased())"
        guard name.count <= 64, !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError(.badRequest, "Invalid daemon name.", validations: [.init(field: "name", detail: "at most 64 characters, no control characters")])
        }
        let instanceID = query[ProvisionerServe.instanceIDParameter[...]].map(String.init) ?? ""
        guard instanceID.utf8.count <= ProvisionerServe.maxInstanceIDBytes,
              !instanceID.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw APIError(.badRequest, "Invalid instance id.", validations: [.init(field: ProvisionerServe.instanceIDParameter, detail: "at most \(ProvisionerServe.maxInstanceIDBytes) printable characters")])
        }
        let version = headers[ProvisionerDaemonsController.buildVersionHeader] ?? ""
        guard version.utf8.count <= 128, !version.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError(.badRequest, "Invalid daemon version.", validations: [.init(field: ProvisionerServe.buildVersionHeader, detail: "at most 128 printable characters")])
        }
        self.provisioners = provisioners
        self.tags = tags
        self.name = name
        self.instanceID = instanceID
        self.version = version
    }

    var isUserScoped: Bool { tags[ProvisionerTags.scope] == ProvisionerTags.userScope }

    var isOrganizationScoped: Bool { tags[ProvisionerTags.scope] == ProvisionerTags.organizationScope }

    /// The name belongs to the credential that registered it: the scope, and for a user daemon
    /// the user (with the PSK, the nil user).
    var ownership: DaemonOwnership {
        DaemonOwnership(
            scope: isUserScoped ? ProvisionerTags.userScope : ProvisionerTags.organizationScope,
            ownerID: isUserScoped ? (tags[ProvisionerTags.owner].flatMap(UUID.init(uuidString:))) : nil
        )
    }

    /// The per-user cap counts a user's own daemons: those registered with their token. A user
    /// daemon registered with the PSK belongs to no user (the nil owner) and counts for the
    /// organization only.
    func caps(_ configured: DaemonCaps, subject: Subject?) -> DaemonCaps {
        var caps = configured
        if subject == nil || !isUserScoped { caps.perUser = nil }
        return caps
    }

    func registration(organizationID: UUID, connectionID: UUID, replicaID: UUID) -> DaemonRegistration {
        DaemonRegistration(
            name: name, organizationID: organizationID, ownership: ownership, instanceID: instanceID, connectionID: connectionID,
            provisioners: provisioners.sorted(), tags: tags, replicaID: replicaID,
            version: version
        )
    }
}

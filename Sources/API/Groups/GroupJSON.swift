import Foundation
import Hummingbird
import Store
import WireFormat

extension GroupsController {
    /// A group in the seed's shape, with its members.
    struct GroupJSON: ResponseEncodable {
        let id: UUID
        let name: String
        let display_name: String
        let organization_id: UUID
        let avatar_url: String
        let quota_allowance: Int32
        let source: String
        let members: [UserJSON]
        let total_member_count: Int

        init(_ value: GroupWithMembers) {
            id = value.group.id
            name = value.group.name
            display_name = value.group.displayName
            organization_id = value.group.organizationID
            avatar_url = value.group.avatarURL
            quota_allowance = value.group.quotaAllowance
            source = value.group.source
            members = value.members.map(UserJSON.init)
            total_member_count = value.members.count
        }
    }

    /// A group's fields but its members, for lists that splice in each member's JSON.
    struct GroupHeadJSON: Encodable {
        let id: UUID
        let name: String
        let display_name: String
        let organization_id: UUID
        let avatar_url: String
        let quota_allowance: Int32
        let source: String
        let total_member_count: Int
    }

    /// A list of groups in the seed's shape, each member encoded once however many groups
    /// hold them (100 groups of the same 1,000 users encode 1,000 users, not 100,000).
    static func listResponse(_ directory: GroupDirectory) throws -> Response {
        var users: [UUID: [UInt8]] = [:]
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, listing) in directory.groups.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            let group = listing.group
            let members = listing.memberIDs.filter { directory.users[$0] != nil }
            var head = try WireJSON.encode(GroupHeadJSON(
                id: group.id, name: group.name, display_name: group.displayName, organization_id: group.organizationID,
                avatar_url: group.avatarURL, quota_allowance: group.quotaAllowance, source: group.source,
                total_member_count: members.count
            ))
            head.removeLast()  // the closing brace: the members follow
            out += head
            out += Array(#","members":["#.utf8)
            for (position, id) in members.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                if let encoded = users[id] {
                    out += encoded
                } else if let user = directory.users[id] {
                    let encoded = try WireJSON.encode(UserJSON(user))
                    users[id] = encoded
                    out += encoded
                }
            }
            out += Array("]}".utf8)
        }
        out.append(UInt8(ascii: "]"))
        return JSON.bytes(ByteBuffer(bytes: out))
    }
}

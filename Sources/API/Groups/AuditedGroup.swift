import Foundation
import Store

extension GroupsController {
    /// What the audit log shows of a group: its fields and member ids.
    struct AuditedGroup: Encodable {
        let group: Group
        let members: [UUID]
        init(_ value: GroupWithMembers) {
            group = value.group
            members = value.members.map(\.id)
        }
        func encode(to encoder: any Encoder) throws {
            try group.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(members, forKey: Key(stringValue: "members"))
        }
        struct Key: CodingKey {
            var stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
    }
}

import WireFormat

extension JSONValue {
    /// The kind as Go's encoding/json names it in "cannot unmarshal <kind>" messages.
    var goKind: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

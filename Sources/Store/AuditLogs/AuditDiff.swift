import WireFormat

/// The `diff` of an audit row, computed from two JSON snapshots of the resource, as Coder's
/// `enterprise/audit/diff.go` does from two Go structs:
///
/// - every top-level field whose value differs appears, with its old and new value;
/// - a field that is missing (or null) on one side counts as the zero value of the other side's
///   kind (`""`, `0`, `false`, `[]`, `{}`), as a Go struct field would be: a create (no old
///   snapshot) shows only the fields that are set, and a field that goes from null to "" is no
///   change;
/// - a field in `secretFields` that differs shows as changed with both values the zero value of
///   its kind and `secret: true`, so no secret reaches the log;
/// - numbers compare by value (`1` and `1.0` are the same), nested values structurally.
///
/// A nil or non-object snapshot is an empty object (nothing before a create, nothing after a
/// delete).
public enum AuditDiff {
    public static func between(old: JSONValue?, new: JSONValue?, secretFields: Set<String> = []) -> [String: AuditChange] {
        let before = fields(of: old)
        let after = fields(of: new)
        var diff: [String: AuditChange] = [:]
        for name in Set(before.keys).union(after.keys) {
            var left = before[name] ?? .null
            var right = after[name] ?? .null
            if left == .null { left = zero(like: right) }
            if right == .null { right = zero(like: left) }
            guard !same(left, right) else { continue }
            if secretFields.contains(name) {
                let blank = zero(like: right == .null ? left : right)
                diff[name] = AuditChange(old: blank, new: blank, secret: true)
            } else {
                diff[name] = AuditChange(old: left, new: right)
            }
        }
        return diff
    }

    private static func fields(of value: JSONValue?) -> [String: JSONValue] {
        if case .object(let fields) = value { fields } else { [:] }
    }

    /// The zero value of `value`'s kind, as Go's `reflect.Zero` of the field's type.
    static func zero(like value: JSONValue) -> JSONValue {
        switch value {
        case .null: .null
        case .bool: .bool(false)
        case .int: .int(0)
        case .double: .double(0)
        case .string: .string("")
        case .array: .array([])
        case .object: .object([:])
        }
    }

    /// Structural equality in which numbers compare by value: a snapshot may carry a count as
    /// `1` on one side and `1.0` on the other.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        case (.int(let x), .int(let y)):
            return x == y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return a == b
        }
    }
}

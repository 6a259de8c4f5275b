/// A parsed SCIM filter (RFC 7644 §3.4.2.2), the `filter` query parameter of list requests and
/// the bracketed part of a PATCH path.
public indirect enum SCIMFilter: Sendable, Equatable, CustomStringConvertible {
    /// `attr op value` for eq, ne, co, sw, ew, gt, ge, lt, le.
    case compare(SCIMAttributePath, SCIMOperator, SCIMValue)
    /// `attr pr`: the attribute has a non-empty value.
    case present(SCIMAttributePath)
    case and(SCIMFilter, SCIMFilter)
    case or(SCIMFilter, SCIMFilter)
    case not(SCIMFilter)
    /// `emails[type eq "work" and value co "@example.com"]`: one element of the multi-valued
    /// attribute must satisfy the whole inner filter, whose paths name its sub-attributes.
    case valuePath(SCIMAttributePath, SCIMFilter)

    /// Bounds on what `parse` accepts, so a hostile filter costs little and cannot exhaust the
    /// stack of the recursive-descent parser.
    public enum Limits {
        /// Longest accepted input, in UTF-8 bytes.
        public static let maximumLength = 4096
        /// Deepest nesting of parentheses, `not` and value paths together.
        public static let maximumDepth = 32
        /// Most attribute expressions (comparisons and `pr`).
        public static let maximumComparisons = 64
    }

    /// Canonical filter text: lowercase operators and keywords, single spaces, JSON values, and
    /// parentheses exactly where precedence (`not` > `and` > `or`, left-associative) needs them,
    /// so that parsing the text gives back this very tree.
    public var description: String {
        switch self {
        case .compare(let path, let op, let value):
            return "\(path) \(op) \(value)"
        case .present(let path):
            return "\(path) pr"
        case .and(let lhs, let rhs):
            return "\(lhs.operand(under: 2, right: false)) and \(rhs.operand(under: 2, right: true))"
        case .or(let lhs, let rhs):
            return "\(lhs.operand(under: 1, right: false)) or \(rhs.operand(under: 1, right: true))"
        case .not(let inner):
            // Always parenthesised: RFC 7644's grammar only has `not (…)`.
            return "not (\(inner))"
        case .valuePath(let path, let inner):
            return "\(path)[\(inner)]"
        }
    }

    /// How tightly this node binds: or 1, and 2, everything else 3.
    private var precedence: Int {
        switch self {
        case .or: return 1
        case .and: return 2
        default: return 3
        }
    }

    /// This node printed as an operand of a binary node of `parentPrecedence`. The parser
    /// groups left to right, so a right operand of equal precedence needs parentheses too:
    /// `a or (b or c)` is a different tree from `a or b or c`.
    private func operand(under parentPrecedence: Int, right: Bool) -> String {
        let needsParentheses = right ? precedence <= parentPrecedence : precedence < parentPrecedence
        return needsParentheses ? "(\(self))" : description
    }
}

import Foundation

/// Reads a JSON request body into a type with non-optional fields, collecting every problem as
/// one of Coder's `validations` (all at once, not the first one). A request type decodes itself
/// through it:
///
///     init(from decoder: any Decoder) throws {
///         var fields = try RequestFields(decoder)
///         email = fields.email("email")
///         organizationID = fields.required("organization_id", as: UUID.self)
///         try fields.check()
///     }
///
/// A field of the wrong JSON type is malformed JSON (400 `Request body must be valid JSON.`); a
/// missing or invalid one is a validation failure (400 `Validation failed.`). Until `check()`
/// passes, a failed field holds a placeholder that no handler ever sees.
struct RequestFields {
    private let container: KeyedDecodingContainer<FieldKey>
    private var validator = Validator()
    /// The first type error: thrown by `check()`, so that the type still initializes.
    private var malformed: (any Error)?

    init(_ decoder: any Decoder) throws {
        container = try decoder.container(keyedBy: FieldKey.self)
    }

    /// A value that may be absent (or null).
    mutating func optional<T: Decodable>(_ field: String, as type: T.Type = T.self) -> T? {
        do {
            return try container.decodeIfPresent(T.self, forKey: FieldKey(field))
        } catch {
            if malformed == nil { malformed = error }
            return nil
        }
    }

    /// A value that must be present; reports Coder's "required" otherwise.
    mutating func required<T: Decodable & Placeholder>(_ field: String, as type: T.Type = T.self) -> T {
        guard let value = optional(field, as: T.self) else {
            validator.fail(field, tag: "required", value: "")
            return .placeholder
        }
        if let text = value as? String, text.isEmpty {
            validator.fail(field, tag: "required", value: "")
        }
        return value
    }

    mutating func username(_ field: String) -> String {
        validator.username(field, optional(field, as: String.self)) ?? ""
    }

    /// An email address, in Unicode NFC: one address sent in two normal forms is one account to
    /// every lookup and to the unique constraint (as SCIM's text is, `JSONValue.precomposed`).
    mutating func email(_ field: String) -> String {
        validator.email(field, optional(field, as: String.self)?.precomposedStringWithCanonicalMapping) ?? ""
    }

    /// One of `allowed`, or `default` when absent.
    mutating func oneOf(_ field: String, _ allowed: Set<String>, default value: String? = nil) -> String {
        let given = optional(field, as: String.self) ?? value
        guard let given, allowed.contains(given) else {
            // Coder's validator says "oneof" for a missing value too.
            validator.fail(field, tag: "oneof", value: given ?? "")
            return ""
        }
        return given
    }

    mutating func fail(_ field: String, detail: String) {
        validator.fail(field, detail: detail)
    }

    mutating func fail(_ field: String, tag: String, value: String) {
        validator.fail(field, tag: tag, value: value)
    }

    /// Throws the first type error, else every validation problem; call last in `init(from:)`.
    func check() throws {
        if let malformed { throw malformed }
        try validator.check()
    }
}

/// What a failed required field holds until `RequestFields.check()` throws.
protocol Placeholder {
    static var placeholder: Self { get }
}

extension String: Placeholder { static var placeholder: String { "" } }
extension UUID: Placeholder { static var placeholder: UUID { UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) } }
extension Int: Placeholder { static var placeholder: Int { 0 } }
extension Bool: Placeholder { static var placeholder: Bool { false } }

struct FieldKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

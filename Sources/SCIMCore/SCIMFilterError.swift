/// Why a SCIM filter or PATCH path was rejected. The API layer turns it into a 400 with
/// `scimType: invalidFilter` (or `invalidPath` for PATCH), so `message` is written for the
/// identity provider's operator reading their logs: it says what was expected, and `offset`
/// says where.
public struct SCIMFilterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was expected and what was found instead, without the offset.
    public var message: String
    /// The offset in UTF-8 bytes from the start of the input where the problem was found.
    /// Bytes rather than characters because that is what the parser walks and what a client
    /// counting in any encoding can reproduce from the raw query string.
    public var offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    /// The message with its position, ready for a SCIM error's `detail`.
    public var description: String { "\(message) (at offset \(offset))" }
}

/// An incremental UTF-8 validator (Unicode 15 table 3-7): bytes may arrive in any split, and the
/// first byte that cannot start or continue a well-formed sequence is reported at once, so a
/// text message fails in the middle of a fragment rather than at its end.
public struct UTF8Validator: Sendable, Hashable {
    /// Continuation bytes still owed by the sequence in progress.
    private var pending: UInt8 = 0
    /// The range the next continuation byte must fall in (it narrows after E0, ED, F0 and F4).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    public init() {}

    /// True when no multi-byte sequence is open: the text so far is complete UTF-8.
    public var isComplete: Bool { pending == 0 }

    /// Validates the next bytes; returns false at the first byte that makes the text ill-formed.
    /// After a false return the validator's state is meaningless.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            if pending == 0 {
                // Most text is ASCII: skip it eight bytes at a time.
                while count - i >= 8 {
                    if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
                    i += 8
                }
                if i == count { return true }
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                switch byte {
                case 0x00...0x7F:
                    continue
                case 0xC2...0xDF:
                    pending = 1; lower = 0x80; upper = 0xBF
                case 0xE0:
                    pending = 2; lower = 0xA0; upper = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF:
                    pending = 2; lower = 0x80; upper = 0xBF
                case 0xED:
                    // Excludes the UTF-16 surrogates U+D800–U+DFFF.
                    pending = 2; lower = 0x80; upper = 0x9F
                case 0xF0:
                    pending = 3; lower = 0x90; upper = 0xBF
                case 0xF1...0xF3:
                    pending = 3; lower = 0x80; upper = 0xBF
                case 0xF4:
                    // Nothing above U+10FFFF.
                    pending = 3; lower = 0x80; upper = 0x8F
                default:
                    return false
                }
            } else {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                guard byte >= lower, byte <= upper else { return false }
                pending -= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }

    public mutating func validate(_ bytes: some Sequence<UInt8>) -> Bool {
        if let result = bytes.withContiguousStorageIfAvailable({ validate(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return validate(Array(bytes))
    }

    /// Whether `bytes` on their own are complete, well-formed UTF-8.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isComplete
    }
}

import TestSupport
import Testing
@testable import WebSocket

@Suite struct UTF8ValidatorTests {
    static let valid: [[UInt8]] = [
        [], Array("hello".utf8), Array("κόσμε".utf8), [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
        [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], Array("😀 ok".utf8),
    ]
    static let invalid: [[UInt8]] = [
        [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80],
        [0xED, 0xBF, 0xBF], [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
        [0xFE], [0xFF], [0xC2, 0x41], [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0xFF],
    ]

    @Test(arguments: valid)
    func acceptsWellFormedText(bytes: [UInt8]) {
        var validator = UTF8Validator()
        let valid = validator.validate(bytes)
        #expect(valid && validator.isComplete)
    }

    @Test(arguments: invalid)
    func rejectsIllFormedText(bytes: [UInt8]) {
        var validator = UTF8Validator()
        let valid = validator.validate(bytes)
        #expect(!valid)
    }

    @Test func truncatedSequenceIsIncompleteNotInvalid() {
        var validator = UTF8Validator()
        let first = validator.validate([0xF0, 0x9F, 0x98])
        #expect(first)
        #expect(!validator.isComplete)
        let second = validator.validate([0x80])
        #expect(second)
        #expect(validator.isComplete)
    }

    @Test func agreesWithTheStandardLibraryOnRandomBytesSplitAnywhere() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<3000 {
            let count = Int.random(in: 0...24, using: &rng)
            // Bias towards bytes that form sequences so that valid inputs are common.
            let pool: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xC0]
            let bytes = (0..<count).map { _ in pool.randomElement(using: &rng)! }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            let cut = Int.random(in: 0...count, using: &rng)
            var validator = UTF8Validator()
            let result = validator.validate(bytes[..<cut]) && validator.validate(bytes[cut...]) && validator.isComplete
            #expect(result == expected, "\(bytes)")
        }
    }
}

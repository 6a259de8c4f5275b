import TestSupport
import Testing
@testable import SCIMCore

/// Random and mutated input must either parse or throw `SCIMFilterError` (typed throws makes
/// anything else impossible to catch, so a crash is the only other outcome), and whatever
/// parses must print and re-parse to the same tree.
@Suite struct SCIMFilterFuzzTests {
    static let seeds: [String] = (SCIMFilterParseTests.rfcExamples + SCIMFilterParseTests.variants).map(\.text)

    /// Fragments that make random strings land near the grammar rather than in the first error.
    static let fragments: [String] = [
        " ", " ", " ", "(", ")", "[", "]", "\"", "\\", ".", ":", "-", "0", "1", "9", "e", "E", "$",
        "a", "b", "x", "name", "emails", "type", "value", "urn:ietf:params:scim:schemas:core:2.0:User:",
        "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not", "AND", "Or", "NoT",
        "true", "false", "null", "\"x\"", "\"\"", "\\u00e9", "\\ud83d", "\\ude00", "\\\"", "1.5", "-2e3", "é", "😀", "\t", "\n", "\u{0}",
    ]

    static let shapes: [[String]] = [
        ["a", "name.familyName", "emails", "(a", "not (a", "emails[type", "urn:x:y", "(", "not"],
        ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "Pr"],
        ["\"x\"", "1", "-2.5e3", "true", "null", "\"\\u00e9\"", "\"x\")", "\"x\"]", ")", "]", ""],
        ["and", "or", "AND", "Or", ")", "]"],
    ]

    @Test func randomStrings() {
        var rng = SplitMix64(seed: 0x5C1_F117)
        var parsed = 0
        for _ in 0..<3000 {
            // Mostly the shape of a filter (attribute, operator, value, conjunction, …) with a
            // random fragment a fifth of the time, so runs get past the first token.
            let count = Int.random(in: 0...12, using: &rng)
            let separator = Int.random(in: 0..<4, using: &rng) == 0 ? "" : " "
            let text = (0..<count).map { index in
                let shaped = Self.shapes[index % Self.shapes.count]
                let pool = Int.random(in: 0..<5, using: &rng) == 0 ? Self.fragments : shaped
                return pool.randomElement(using: &rng) ?? ""
            }.joined(separator: separator)
            if check(text) { parsed += 1 }
        }
        // Not a correctness claim, only that the generator reaches the interesting part.
        #expect(parsed > 25)
    }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 0xB17E5)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...127, using: &rng) }
            check(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func mutationsOfValidFilters() {
        var rng = SplitMix64(seed: 0x0E1A_11E7)
        var parsed = 0
        for _ in 0..<4000 {
            guard var scalars = Self.seeds.randomElement(using: &rng).map({ Array($0.unicodeScalars) }) else { continue }
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                mutate(&scalars, using: &rng)
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            if check(text) { parsed += 1 }
        }
        #expect(parsed > 200)
    }

    @Test func randomTreesRoundTrip() throws {
        var rng = SplitMix64(seed: 0x7EE5)
        for _ in 0..<2000 {
            var budget = 12
            let tree = randomFilter(depth: 0, budget: &budget, inValuePath: false, using: &rng)
            let reparsed = try SCIMFilter.parse(tree.description)
            #expect(reparsed == tree, "\(tree)")
        }
    }

    // MARK: helpers

    /// Parses `text`; if it parses, checks the round trip. Returns whether it parsed.
    @discardableResult
    private func check(_ text: String) -> Bool {
        do {
            let filter = try SCIMFilter.parse(text)
            let printed = filter.description
            do {
                let again = try SCIMFilter.parse(printed)
                #expect(again == filter, "input: \(text.debugDescription) printed: \(printed.debugDescription)")
                #expect(again.description == printed, "printing is not canonical for \(text.debugDescription)")
            } catch {
                Issue.record("\(text.debugDescription) parsed, but its printed form \(printed.debugDescription) did not: \(error)")
            }
            return true
        } catch {
            #expect(error.offset >= 0 && error.offset <= text.utf8.count, "\(text.debugDescription): \(error)")
            #expect(!error.message.isEmpty)
            return false
        }
    }

    private func mutate(_ scalars: inout [Unicode.Scalar], using rng: inout SplitMix64) {
        let index = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0 where !scalars.isEmpty:
            let end = min(scalars.count, index + Int.random(in: 1...4, using: &rng))
            scalars.removeSubrange(index..<end)
        case 1:
            let fragment = Self.fragments.randomElement(using: &rng) ?? " "
            scalars.insert(contentsOf: fragment.unicodeScalars, at: index)
        case 2 where !scalars.isEmpty:
            let fragment = Self.fragments.randomElement(using: &rng) ?? " "
            scalars.replaceSubrange(index...index, with: fragment.unicodeScalars)
        case 3 where !scalars.isEmpty:
            let other = Int.random(in: 0..<scalars.count, using: &rng)
            scalars.swapAt(index, other)
        default:
            let end = min(scalars.count, index + Int.random(in: 0...8, using: &rng))
            scalars.insert(contentsOf: scalars[index..<end], at: index)
        }
    }

    private func randomFilter(depth: Int, budget: inout Int, inValuePath: Bool, using rng: inout SplitMix64) -> SCIMFilter {
        budget -= 1
        let leafOnly = depth > 6 || budget <= 0
        switch leafOnly ? Int.random(in: 0..<2, using: &rng) : Int.random(in: 0..<6, using: &rng) {
        case 0:
            return .present(randomPath(using: &rng))
        case 1:
            let op = SCIMOperator.allCases.randomElement(using: &rng) ?? .eq
            return .compare(randomPath(using: &rng), op, randomValue(using: &rng))
        case 2:
            return .and(randomFilter(depth: depth + 1, budget: &budget, inValuePath: inValuePath, using: &rng),
                        randomFilter(depth: depth + 1, budget: &budget, inValuePath: inValuePath, using: &rng))
        case 3:
            return .or(randomFilter(depth: depth + 1, budget: &budget, inValuePath: inValuePath, using: &rng),
                       randomFilter(depth: depth + 1, budget: &budget, inValuePath: inValuePath, using: &rng))
        case 4:
            return .not(randomFilter(depth: depth + 1, budget: &budget, inValuePath: inValuePath, using: &rng))
        default:
            if inValuePath { return .present(randomPath(using: &rng)) }
            var attribute = randomPath(using: &rng)
            attribute.subAttribute = nil
            return .valuePath(attribute, randomFilter(depth: depth + 1, budget: &budget, inValuePath: true, using: &rng))
        }
    }

    private func randomPath(using rng: inout SplitMix64) -> SCIMAttributePath {
        let names = ["userName", "name", "emails", "Type", "value", "$ref", "a-b_c1", "andy", "orders", "notes", "PR"]
        let schemas = [nil, nil, nil, "urn:ietf:params:scim:schemas:core:2.0:User", "urn:x-y.z:Ext_1"]
        return SCIMAttributePath(
            schema: schemas.randomElement(using: &rng) ?? nil,
            name: names.randomElement(using: &rng) ?? "a",
            subAttribute: Bool.random(using: &rng) ? nil : names.randomElement(using: &rng))
    }

    private func randomValue(using rng: inout SplitMix64) -> SCIMValue {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            let pieces = ["a", "\"", "\\", "\n", "\u{1}", "é", "😀", " ", "]", ")", "\u{7F}", "\u{2028}"]
            return .string((0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "" }.joined())
        case 1: return .integer(Int64.random(in: Int64.min...Int64.max, using: &rng))
        case 2:
            let double = Double(bitPattern: rng.next())
            return .double(double.isFinite ? double : 0.5)
        case 3: return .bool(Bool.random(using: &rng))
        case 4: return .null
        default: return .double(Double(Int.random(in: -1000...1000, using: &rng)) / 8)
        }
    }
}

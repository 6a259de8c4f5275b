import Testing
@testable import SCIMCore

@Suite struct SCIMFilterLimitTests {
    @Test func lengthIsBounded() throws {
        let padding = String(repeating: " ", count: SCIMFilter.Limits.maximumLength - "a pr".utf8.count)
        #expect(try SCIMFilter.parse("a pr" + padding) == pr("a"))
        let error = try #require(parseError("a pr " + padding))
        #expect(error.message.contains("at most 4096"))
        #expect(error.offset == 4096)
        // Length is counted in bytes: 2048 'é's are 4096 bytes, one more is over.
        #expect(parseError(#"a eq ""# + String(repeating: "é", count: 2040) + #"""#) == nil)
        #expect(parseError(#"a eq ""# + String(repeating: "é", count: 2046) + #"""#)?.message.contains("at most 4096") == true)
    }

    @Test func hugeInputIsRejectedCheaply() throws {
        let error = try #require(parseError(String(repeating: "(", count: 1_000_000)))
        #expect(error.message.contains("bytes long"))
    }

    @Test func parenthesesDepthIsBounded() throws {
        let ok = String(repeating: "(", count: 32) + "a pr" + String(repeating: ")", count: 32)
        #expect(try SCIMFilter.parse(ok) == pr("a"))
        let deep = String(repeating: "(", count: 33) + "a pr" + String(repeating: ")", count: 33)
        let error = try #require(parseError(deep))
        #expect(error.message.contains("nests too deeply"))
        #expect(error.offset == 32)
        // As deep as the length allows: still an error, not a stack overflow.
        #expect(parseError(String(repeating: "(", count: 4096))?.message.contains("nests too deeply") == true)
    }

    @Test func notDepthIsBounded() throws {
        #expect(parseError(String(repeating: "not ", count: 32) + "a pr") == nil)
        let error = try #require(parseError(String(repeating: "not ", count: 33) + "a pr"))
        #expect(error.message.contains("nests too deeply"))
        #expect(error.offset == 32 * 4)
        #expect(parseError(String(repeating: "not(", count: 1024))?.message.contains("nests too deeply") == true)
    }

    @Test func mixedNestingCountsTogether() throws {
        // 31 parentheses, then `not` and a value path: 33 levels.
        let text = String(repeating: "(", count: 31) + #"not emails[type eq "w"]"# + String(repeating: ")", count: 31)
        let error = try #require(parseError(text))
        #expect(error.message.contains("nests too deeply"))
        let fits = String(repeating: "(", count: 30) + #"not emails[type eq "w"]"# + String(repeating: ")", count: 30)
        #expect(parseError(fits) == nil)
    }

    @Test func comparisonsAreBounded() throws {
        let sixtyFour = (0..<64).map { "a\($0) pr" }.joined(separator: " and ")
        #expect(parseError(sixtyFour) == nil)
        let sixtyFive = sixtyFour + " or b eq 1"
        let error = try #require(parseError(sixtyFive))
        #expect(error.message.contains("too many comparisons"))
        #expect(error.offset == sixtyFour.utf8.count + 4)
        // Comparisons inside value paths count too.
        let inside = "emails[" + (0..<65).map { "t eq \($0)" }.joined(separator: " or ") + "]"
        #expect(parseError(inside)?.message.contains("too many comparisons") == true)
    }
}

import Testing
@testable import SCIMCore

@Suite struct SCIMFilterErrorTests {
    static let invalid: [Invalid] = [
        Invalid("", "empty filter", at: 0),
        Invalid("   ", "empty filter", at: 3),
        Invalid(#"userName eq "bjensen"#, "unterminated string", at: 12),
        Invalid(#"userName eq "bj\"#, "unterminated string", at: 15),
        Invalid(#"userName xx "bjensen""#, "unknown operator 'xx'", at: 9),
        Invalid(#"userName == "bjensen""#, "unknown operator '=='", at: 9),
        Invalid("userName", "expected an operator", at: 8),
        Invalid("userName eq", "expected a value", at: 11),
        Invalid("userName eq ", "found the end of the filter", at: 12),
        Invalid("userName eq bjensen", "expected a value", at: 12),
        Invalid("userName eq )", "expected a value", at: 12),
        Invalid(#"title pr "x""#, "'pr' takes no value", at: 9),
        Invalid("title pr true", "'pr' takes no value", at: 9),
        Invalid("title pr 5", "'pr' takes no value", at: 9),
        Invalid("(title pr", "expected ')' to close the '(' at offset 0", at: 9),
        Invalid("((title pr)", "expected ')'", at: 11),
        Invalid("title pr)", "expected 'and', 'or' or the end of the filter, found ')'", at: 8),
        Invalid("()", "expected an attribute expression", at: 1),
        Invalid(#"title pr garbage"#, "expected 'and', 'or' or the end of the filter, found 'garbage'", at: 9),
        Invalid(#"a eq "x" "y""#, "found a string", at: 9),
        Invalid("title pr and", "found the end of the filter", at: 12),
        Invalid("title pr and or b pr", "expected an attribute expression before 'or'", at: 13),
        Invalid("and a pr", "before 'and'", at: 0),
        Invalid("not", "found the end of the filter", at: 3),
        Invalid(#""x" eq a"#, "expected an attribute expression", at: 0),
        Invalid(#"1abc eq "x""#, "must start with a letter", at: 0),
        Invalid(#"user@name eq "x""#, "invalid character in attribute name", at: 4),
        Invalid(#"name. eq "x""#, "expected an attribute name after '.'", at: 5),
        Invalid(#"a.b.c eq "x""#, "more than one sub-attribute", at: 0),
        Invalid(#"urn:x: eq "x""#, "after the schema URN", at: 6),
        Invalid(#"urn::x:a eq "x""#, "invalid character in schema URN", at: 4),
        Invalid(#"a eq "\x""#, "invalid escape", at: 6),
        Invalid(#"a eq "\u12""#, "four hex digits", at: 6),
        Invalid(#"a eq "\ud83d""#, "unpaired surrogate", at: 6),
        Invalid(#"a eq "\ude00""#, "unpaired surrogate", at: 6),
        Invalid("a eq \"x\ny\"", "control character", at: 7),
        Invalid("a eq 01", "invalid number '01'", at: 5),
        Invalid("a eq 1.", "invalid number", at: 5),
        Invalid("a eq -", "invalid number", at: 5),
        Invalid("a eq 1e", "invalid number", at: 5),
        Invalid("a eq 1e999", "out of range", at: 5),
        Invalid("emails[]", "empty value filter", at: 7),
        Invalid(#"emails[type eq "work""#, "expected ']' to close the '[' at offset 6", at: 21),
        Invalid(#"emails[type eq "work")"#, "expected ']'", at: 21),
        Invalid(#"emails.value[type eq "work"]"#, "not the sub-attribute", at: 12),
        Invalid(#"emails[type[value pr]]"#, "cannot be nested", at: 11),
        Invalid(#"emails [type eq "work"]"#, "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'emails', found '['", at: 7),
        Invalid(#"emails[type eq "work"].value eq "x""#, "expected 'and', 'or' or the end of the filter, found '.value'", at: 22),
    ]

    @Test(arguments: invalid)
    func rejects(_ example: Invalid) {
        guard let error = parseError(example.text) else {
            Issue.record("parsed, but should have been rejected")
            return
        }
        #expect(error.message.contains(example.message), "\(error.message)")
        #expect(error.offset == example.offset, "\(error)")
    }

    @Test func descriptionCarriesTheOffset() {
        let error = SCIMFilterError(message: "expected a value after 'eq', found the end of the filter", offset: 11)
        #expect(error.description == "expected a value after 'eq', found the end of the filter (at offset 11)")
    }

    @Test func longWordsAreTruncatedInMessages() throws {
        let error = try #require(parseError("a pr " + String(repeating: "x", count: 1000)))
        #expect(error.message.count < 120)
    }
}

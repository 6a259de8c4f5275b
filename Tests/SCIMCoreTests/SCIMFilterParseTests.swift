import Testing
@testable import SCIMCore

@Suite struct SCIMFilterParseTests {
    static let rfcExamples: [Valid] = [
        Valid(#"userName eq "bjensen""#, cmp("userName", .eq, "bjensen")),
        Valid(#"name.familyName co "O'Malley""#, cmp("name.familyName", .co, "O'Malley")),
        Valid(#"userName sw "J""#, cmp("userName", .sw, "J")),
        Valid(#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
              .compare(SCIMAttributePath(schema: "urn:ietf:params:scim:schemas:core:2.0:User", name: "userName"), .sw, .string("J"))),
        Valid("title pr", pr("title")),
        Valid(#"meta.lastModified gt "2011-05-13T04:42:34Z""#, cmp("meta.lastModified", .gt, "2011-05-13T04:42:34Z")),
        Valid(#"meta.lastModified ge "2011-05-13T04:42:34Z""#, cmp("meta.lastModified", .ge, "2011-05-13T04:42:34Z")),
        Valid(#"meta.lastModified lt "2011-05-13T04:42:34Z""#, cmp("meta.lastModified", .lt, "2011-05-13T04:42:34Z")),
        Valid(#"meta.lastModified le "2011-05-13T04:42:34Z""#, cmp("meta.lastModified", .le, "2011-05-13T04:42:34Z")),
        Valid(#"title pr and userType eq "Employee""#, .and(pr("title"), cmp("userType", .eq, "Employee"))),
        Valid(#"title pr or userType eq "Intern""#, .or(pr("title"), cmp("userType", .eq, "Intern"))),
        Valid(#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
              cmp("schemas", .eq, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")),
        Valid(#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
              .and(cmp("userType", .eq, "Employee"), .or(cmp("emails", .co, "example.com"), cmp("emails.value", .co, "example.org")))),
        Valid(#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
              .and(cmp("userType", .ne, "Employee"), .not(.or(cmp("emails", .co, "example.com"), cmp("emails.value", .co, "example.org"))))),
        Valid(#"userType eq "Employee" and (emails.type eq "work")"#,
              .and(cmp("userType", .eq, "Employee"), cmp("emails.type", .eq, "work"))),
        Valid(#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
              .and(cmp("userType", .eq, "Employee"),
                   .valuePath(path("emails"), .and(cmp("type", .eq, "work"), cmp("value", .co, "@example.com"))))),
        Valid(#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
              .or(.valuePath(path("emails"), .and(cmp("type", .eq, "work"), cmp("value", .co, "@example.com"))),
                  .valuePath(path("ims"), .and(cmp("type", .eq, "xmpp"), cmp("value", .co, "@foo.com"))))),
        Valid(#"userName ew "sen""#, cmp("userName", .ew, "sen")),
    ]

    static let variants: [Valid] = [
        // Case-insensitive operators, keywords, literals and attribute names.
        Valid(#"USERNAME EQ "x""#, cmp("userName", .eq, "x")),
        Valid(#"userName Eq "x""#, cmp("userName", .eq, "x")),
        Valid(#"title PR AND userType Eq "a" Or NOT (x pR)"#,
              .or(.and(pr("title"), cmp("userType", .eq, "a")), .not(pr("x")))),
        Valid("active eq TRUE", cmp("active", .eq, .bool(true))),
        // Precedence: not > and > or, left-associative.
        Valid("a pr or b pr and c pr", .or(pr("a"), .and(pr("b"), pr("c")))),
        Valid("a pr and b pr or c pr", .or(.and(pr("a"), pr("b")), pr("c"))),
        Valid("a pr or b pr or c pr", .or(.or(pr("a"), pr("b")), pr("c"))),
        Valid("a pr or (b pr or c pr)", .or(pr("a"), .or(pr("b"), pr("c")))),
        Valid("not a pr and b pr", .and(.not(pr("a")), pr("b"))),
        Valid("not not (a pr)", .not(.not(pr("a")))),
        Valid("not(a pr)", .not(pr("a"))),
        Valid("((a pr))", pr("a")),
        // Whitespace tolerance.
        Valid("  \t(a pr)\n and\r\n( b pr )  ", .and(pr("a"), pr("b"))),
        Valid(#"a eq"x""#, cmp("a", .eq, "x")),
        Valid(#"emails[ type eq "work" ]"#, .valuePath(path("emails"), cmp("type", .eq, "work"))),
        // A keyword is only a keyword as a whole word.
        Valid("notes pr and orders pr", .and(pr("notes"), pr("orders"))),
        // Escapes in strings.
        Valid(#"a eq "say \"hi\"""#, cmp("a", .eq, "say \"hi\"")),
        Valid(#"a eq "back\\slash""#, cmp("a", .eq, "back\\slash")),
        Valid(#"a eq "caf\u00e9""#, cmp("a", .eq, "café")),
        Valid(#"a eq "\ud83d\ude00 \/ \b\f\n\r\t""#, cmp("a", .eq, "😀 / \u{08}\u{0C}\n\r\t")),
        Valid(#"a eq "café""#, cmp("a", .eq, "café")),
        Valid(#"a eq """#, cmp("a", .eq, "")),
        // Numbers, booleans, null.
        Valid("a eq 42", cmp("a", .eq, .integer(42))),
        Valid("a gt -7", cmp("a", .gt, .integer(-7))),
        Valid("a lt 0", cmp("a", .lt, .integer(0))),
        Valid("a le 1.5", cmp("a", .le, .double(1.5))),
        Valid("a ge 2e3", cmp("a", .ge, .double(2000))),
        Valid("a ge -1.25E-2", cmp("a", .ge, .double(-0.0125))),
        Valid("a eq 9223372036854775807", cmp("a", .eq, .integer(Int64.max))),
        Valid("a eq 9223372036854775808", cmp("a", .eq, .double(9223372036854775808))),
        Valid("active eq true", cmp("active", .eq, .bool(true))),
        Valid("active eq false", cmp("active", .eq, .bool(false))),
        Valid("manager eq null", cmp("manager", .eq, .null)),
        // Names: digits, '-', '_', '$ref', enterprise extension.
        Valid(#"members.$ref eq "x""#, cmp("members.$ref", .eq, "x")),
        Valid("x_1-y pr", pr("x_1-y")),
        Valid(#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
              .compare(SCIMAttributePath(schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", name: "manager", subAttribute: "value"),
                       .eq, .string("m"))),
    ]

    @Test(arguments: rfcExamples + variants)
    func parses(_ example: Valid) throws {
        let parsed = try SCIMFilter.parse(example.text)
        #expect(parsed == example.expected)
        // And the canonical text parses back to the same tree.
        #expect(try SCIMFilter.parse(parsed.description) == parsed)
    }

    @Test func caseIsKeptForPrintingButIgnoredForEquality() throws {
        let parsed = try SCIMFilter.parse(#"USERNAME EQ "X""#)
        #expect(parsed.description == #"USERNAME eq "X""#)
        #expect(parsed == cmp("username", .eq, "X"))
        #expect(parsed != cmp("username", .eq, "x"), "values keep their case; matching is the evaluator's business")
        #expect(path("urn:A:User:userName").hashValue == path("urn:a:user:USERNAME").hashValue)
    }

    @Test func printsCanonicalText() throws {
        let cases: [(String, String)] = [
            (#"userType  NE "Employee" AND NOT(emails CO "example.com" OR emails.value co "example.org")"#,
             #"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#),
            ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
            ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
            ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
            ("(a pr and b pr) and c pr", "a pr and b pr and c pr"),
            (#"a eq "\u00e9\u0001\"\\""#, #"a eq "é\u0001\"\\""#),
            ("a eq 1.0", "a eq 1.0"),
            ("a eq 1e2", "a eq 100.0"),
            ("a eq NULL", "a eq null"),
            (#"emails[type eq "work"]"#, #"emails[type eq "work"]"#),
        ]
        for (input, canonical) in cases {
            #expect(try SCIMFilter.parse(input).description == canonical, "\(input)")
        }
    }
}

import Testing
@testable import SCIMCore

@Suite struct SCIMPathTests {
    @Test func parsesPatchPaths() throws {
        let cases: [(String, SCIMPath)] = [
            ("userName", .attribute(path("userName"))),
            ("name.familyName", .attribute(path("name.familyName"))),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
             .attribute(SCIMAttributePath(schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", name: "manager"))),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
             .attribute(SCIMAttributePath(schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", name: "manager", subAttribute: "value"))),
            (#"members[value eq "5f1a2b3c-0000-4000-8000-000000000001"]"#,
             .valuePath(path("members"), cmp("value", .eq, "5f1a2b3c-0000-4000-8000-000000000001"), subAttribute: nil)),
            (#"emails[type eq "work"].value"#, .valuePath(path("emails"), cmp("type", .eq, "work"), subAttribute: "value")),
            (#"addresses[type eq "work" and primary eq true].streetAddress"#,
             .valuePath(path("addresses"), .and(cmp("type", .eq, "work"), cmp("primary", .eq, .bool(true))), subAttribute: "streetAddress")),
            (#"MEMBERS[VALUE EQ "x"]"#, .valuePath(path("members"), cmp("value", .eq, "x"), subAttribute: nil)),
            ("  active  ", .attribute(path("active"))),
        ]
        for (text, expected) in cases {
            let parsed = try SCIMPath.parse(text)
            #expect(parsed == expected, "\(text)")
            #expect(try SCIMPath.parse(parsed.description) == parsed, "\(text)")
        }
    }

    @Test func rejectsBadPaths() {
        let cases: [(String, String, Int)] = [
            ("", "empty path", 0),
            ("a.b.c", "more than one sub-attribute", 0),
            ("emails[", "expected an attribute expression", 7),
            (#"emails[type eq "work""#, "expected ']'", 21),
            (#"emails[type eq "work"]."#, "expected an attribute name after '.' after ']'", 23),
            (#"emails[type eq "work"].value.x"#, "invalid character", 28),
            (#"emails[type eq "work"] x"#, "expected the end of the path", 23),
            (#"emails[type eq "work"]value"#, "expected the end of the path", 22),
            ("userName eq", "expected the end of the path", 9),
            (#"emails.value[type eq "work"]"#, "not the sub-attribute", 12),
            ("1x", "must start with a letter", 0),
            (String(repeating: "a", count: 5000), "at most 4096", 4096),
        ]
        for (text, message, offset) in cases {
            do {
                let parsed = try SCIMPath.parse(text)
                Issue.record("\(text) parsed as \(parsed)")
            } catch {
                #expect(error.message.contains(message), "\(text): \(error)")
                #expect(error.offset == offset, "\(text): \(error)")
            }
        }
    }
}

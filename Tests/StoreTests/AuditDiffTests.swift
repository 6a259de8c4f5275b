import Foundation
import Store
import Testing
import WireFormat

/// `AuditDiff.between`: Coder's `diffValues` over two JSON snapshots.
@Suite struct AuditDiffTests {
    @Test func aCreateShowsTheFieldsThatAreSet() {
        let new: JSONValue = .object(["name": .string("admins"), "quota": .int(0), "members": .array([]), "open": .bool(true), "avatar": .null])
        #expect(AuditDiff.between(old: nil, new: new) == [
            "name": AuditChange(old: .string(""), new: .string("admins")),
            "open": AuditChange(old: .bool(false), new: .bool(true)),
        ])
    }

    @Test func aDeleteShowsWhatWentAway() {
        let old: JSONValue = .object(["name": .string("admins"), "quota": .int(3), "tags": .object(["a": .string("b")])])
        #expect(AuditDiff.between(old: old, new: nil) == [
            "name": AuditChange(old: .string("admins"), new: .string("")),
            "quota": AuditChange(old: .int(3), new: .int(0)),
            "tags": AuditChange(old: .object(["a": .string("b")]), new: .object([:])),
        ])
    }

    @Test func aWriteShowsChangedAppearingAndDisappearingFields() {
        let old: JSONValue = .object(["name": .string("a"), "quota": .int(1), "gone": .string("x"), "same": .array([.int(1)]), "ratio": .int(2)])
        let new: JSONValue = .object(["name": .string("b"), "quota": .int(1), "came": .string("y"), "same": .array([.double(1)]), "ratio": .double(2.0)])
        #expect(AuditDiff.between(old: old, new: new) == [
            "name": AuditChange(old: .string("a"), new: .string("b")),
            "gone": AuditChange(old: .string("x"), new: .string("")),
            "came": AuditChange(old: .string(""), new: .string("y")),
        ])
        #expect(AuditDiff.between(old: old, new: old) == [:])
    }

    @Test func nullIsTheZeroValueOfTheOtherSide() {
        #expect(AuditDiff.between(old: .object(["logo": .null]), new: .object(["logo": .string("")])) == [:])
        #expect(AuditDiff.between(old: .object(["logo": .null]), new: .object(["logo": .string("x")])) == [
            "logo": AuditChange(old: .string(""), new: .string("x")),
        ])
        #expect(AuditDiff.between(old: .object(["n": .int(4)]), new: .object(["n": .null])) == ["n": AuditChange(old: .int(4), new: .int(0))])
    }

    @Test func secretsShowOnlyThatTheyChanged() {
        let old: JSONValue = .object(["key": .string("old-secret"), "name": .string("a")])
        let new: JSONValue = .object(["key": .string("new-secret"), "name": .string("a")])
        #expect(AuditDiff.between(old: old, new: new, secretFields: ["key"]) == ["key": AuditChange(old: .string(""), new: .string(""), secret: true)])
        #expect(AuditDiff.between(old: old, new: old, secretFields: ["key"]) == [:])
        #expect(AuditDiff.between(old: nil, new: .object(["pin": .int(1234)]), secretFields: ["pin"]) == ["pin": AuditChange(old: .int(0), new: .int(0), secret: true)])
    }

    @Test func nonObjectsAreEmpty() {
        #expect(AuditDiff.between(old: .string("x"), new: .array([.int(1)])) == [:])
        #expect(AuditDiff.between(old: nil, new: nil) == [:])
    }

    @Test func aChangeEncodesAsCoders() throws {
        #expect(try WireJSON.encodeString(AuditChange(old: .string(""), new: .string("b"))) == #"{"old":"","new":"b","secret":false}"#)
        #expect(try WireJSON.encodeString(AuditChange(old: .null, new: .int(1), secret: true)) == #"{"new":1,"secret":true}"#)
        let decoded = try WireJSON.decode(AuditChange.self, from: Data(#"{"new":1,"secret":true}"#.utf8))
        #expect(decoded == AuditChange(old: .null, new: .int(1), secret: true))
    }
}

import Foundation
import Testing
@testable import ProvisionerDaemon

/// What of a template archive may be written, member by member: the pure half of extraction.
@Suite struct ArchiveEntryPolicyTests {
    static func file(_ name: String, size: Int = 0, mode: UInt32 = 0o644) -> TarEntry {
        TarEntry(name: Array(name.utf8), kind: .file, mode: mode, data: 1000..<(1000 + size))
    }
    static func directory(_ name: String) -> TarEntry { TarEntry(name: Array(name.utf8), kind: .directory, mode: 0o755) }
    static func symlink(_ name: String, to target: String) -> TarEntry {
        TarEntry(name: Array(name.utf8), kind: .symlink, mode: 0o777, linkTarget: Array(target.utf8))
    }

    /// The decisions for `entries` in order, or the refusal's message.
    static func admit(_ entries: [TarEntry], limits: ArchiveEntryPolicy.Limits = .templates) -> Result<[ArchiveEntryPolicy.Decision], TemplateArchiveError> {
        var policy = ArchiveEntryPolicy(limits: limits)
        var decisions: [ArchiveEntryPolicy.Decision] = []
        for entry in entries {
            do {
                decisions.append(try policy.admit(entry))
            } catch let error as TemplateArchiveError {
                return .failure(error)
            } catch {
                return .failure(TemplateArchiveError("not a TemplateArchiveError: \(error)"))
            }
        }
        return .success(decisions)
    }

    static func refusal(_ entries: [TarEntry], limits: ArchiveEntryPolicy.Limits = .templates) -> String? {
        if case .failure(let error) = admit(entries, limits: limits) { return error.message }
        return nil
    }

    @Test func filesDirectoriesAndRelativeLinksAreWritten() throws {
        let decisions = try Self.admit([
            Self.directory("./"),
            Self.directory("./modules/"),
            Self.file("./modules//net/main.tf", size: 10),
            Self.file("run.sh", size: 3, mode: 0o775),
            Self.symlink("modules/current", to: "net"),
            Self.symlink("alias.tf", to: "modules/net/main.tf"),
            Self.symlink("self", to: "."),
        ]).get()
        #expect(decisions == [
            .skip,
            .directory(path: "modules"),
            .file(path: "modules/net/main.tf", mode: 0o644, data: 1000..<1010),
            .file(path: "run.sh", mode: 0o755, data: 1000..<1003),
            .symlink(path: "modules/current", target: "net"),
            .symlink(path: "alias.tf", target: "modules/net/main.tf"),
            .symlink(path: "self", target: "."),
        ])
    }

    @Test func modesAreMasked() {
        #expect(ArchiveEntryPolicy.mode(for: 0o644) == 0o644)
        #expect(ArchiveEntryPolicy.mode(for: 0o600) == 0o644)
        #expect(ArchiveEntryPolicy.mode(for: 0o666) == 0o644)
        #expect(ArchiveEntryPolicy.mode(for: 0o7666) == 0o644)
        #expect(ArchiveEntryPolicy.mode(for: 0o755) == 0o755)
        #expect(ArchiveEntryPolicy.mode(for: 0o100) == 0o755)
        #expect(ArchiveEntryPolicy.mode(for: 0o001) == 0o755)
        #expect(ArchiveEntryPolicy.mode(for: 0o4777) == 0o755)
        #expect(ArchiveEntryPolicy.directoryMode == 0o755)
    }

    @Test func namesThatLeaveTheRootAreRefused() {
        for name in ["../escape.tf", "a/../../escape.tf", "a/..", "..", "./../x", "a/b/../c"] {
            let message = Self.refusal([Self.file(name)])
            #expect(message?.contains("'..'") == true, "\(name): \(message ?? "admitted")")
            #expect(message?.contains(name) == true, "\(name): \(message ?? "admitted")")
        }
        for name in ["/etc/passwd", "/", "//x"] {
            #expect(Self.refusal([Self.file(name)])?.contains("absolute") == true, "\(name)")
        }
        // Dots that are not `..` are names like any other.
        #expect(Self.refusal([Self.file("..hidden"), Self.file("a/.../b"), Self.file(".terraform.lock.hcl")]) == nil)
    }

    @Test func badNamesAreRefused() {
        #expect(Self.refusal([Self.file("")])?.contains("empty name") == true)
        #expect(Self.refusal([TarEntry(name: Array("a\0b.tf".utf8), kind: .file)])?.contains("NUL") == true)
        #expect(Self.refusal([TarEntry(name: [0x61, 0xFF, 0x62], kind: .file)])?.contains("not UTF-8") == true)
        // The root itself may only be a directory.
        #expect(Self.refusal([Self.file(".")])?.contains("root") == true)
        #expect(Self.refusal([Self.symlink("./", to: "x")])?.contains("root") == true)
    }

    @Test func longAndDeepNamesAreRefused() {
        let longest = String(repeating: "a", count: 1024)
        #expect(Self.refusal([Self.file(longest)]) == nil)
        let tooLong = String(repeating: "a", count: 1025)
        #expect(Self.refusal([Self.file(tooLong)])?.contains("1025 bytes") == true)
        let deepest = Array(repeating: "d", count: 32).joined(separator: "/")
        #expect(Self.refusal([Self.file(deepest)]) == nil)
        let tooDeep = Array(repeating: "d", count: 33).joined(separator: "/")
        #expect(Self.refusal([Self.file(tooDeep)])?.contains("33 directories deep") == true)
        // `.` components do not count.
        #expect(Self.refusal([Self.file(Array(repeating: ".", count: 40).joined(separator: "/") + "/x")]) == nil)
    }

    @Test func linksThatCouldLeaveAreRefused() {
        for target in ["..", "../x", "a/../../x", "a/..", "/etc/passwd", "/"] {
            let message = Self.refusal([Self.symlink("l", to: target)])
            #expect(message?.contains("\"l\"") == true, "\(target): \(message ?? "admitted")")
        }
        // The two-step escape a lexical check would let through: both are refused.
        #expect(Self.refusal([Self.directory("d1"), Self.symlink("d1/L", to: "..")])?.contains("'..'") == true)
        #expect(Self.refusal([Self.symlink("M", to: "d1/L/..")])?.contains("'..'") == true)
        #expect(Self.refusal([Self.symlink("l", to: "")])?.contains("empty target") == true)
        #expect(Self.refusal([TarEntry(name: Array("l".utf8), kind: .symlink, linkTarget: Array("a\0b".utf8))])?.contains("NUL") == true)
        #expect(Self.refusal([Self.symlink("l", to: String(repeating: "t", count: 1025))])?.contains("1025 bytes") == true)
    }

    @Test func otherKindsAreRefusedNamingTheMember() {
        let cases: [(TarEntry, String)] = [
            (TarEntry(name: Array("hard".utf8), kind: .hardLink, linkTarget: Array("/etc/shadow".utf8)), "hard link"),
            (TarEntry(name: Array("tty".utf8), kind: .characterDevice), "character device"),
            (TarEntry(name: Array("sda".utf8), kind: .blockDevice), "block device"),
            (TarEntry(name: Array("pipe".utf8), kind: .fifo), "fifo"),
            (TarEntry(name: Array("holes".utf8), kind: .sparse), "sparse"),
            (TarEntry(name: Array("label".utf8), kind: .other(UInt8(ascii: "V"))), "'V'"),
            (TarEntry(name: Array("weird".utf8), kind: .other(0x01)), "type 1"),
        ]
        for (entry, says) in cases {
            let message = Self.refusal([entry])
            #expect(message?.contains(says) == true, "\(says): \(message ?? "admitted")")
            #expect(message?.contains("\"\(entry.displayName)\"") == true, "\(says): \(message ?? "admitted")")
        }
    }

    @Test func aPathIsTakenOnce() {
        #expect(Self.refusal([Self.file("a.tf"), Self.file("./a.tf")])?.contains("already has") == true)
        #expect(Self.refusal([Self.directory("d"), Self.directory("d/")])?.contains("second time") == true)
        #expect(Self.refusal([Self.file("d"), Self.directory("d")])?.contains("file or link at d") == true)
        #expect(Self.refusal([Self.directory("d"), Self.file("d")])?.contains("already has") == true)
        #expect(Self.refusal([Self.file("d/f"), Self.file("d")])?.contains("already has") == true)
        #expect(Self.refusal([Self.symlink("l", to: "x"), Self.file("l")])?.contains("already has") == true)
        // Nothing below a file or a link: `L/x` would be written through the link.
        #expect(Self.refusal([Self.file("f"), Self.file("f/x")])?.contains("inside f") == true)
        #expect(Self.refusal([Self.symlink("L", to: "sub"), Self.file("L/x")])?.contains("inside L") == true)
        #expect(Self.refusal([Self.symlink("L", to: "sub"), Self.directory("L/d")])?.contains("inside L") == true)
        // A directory implied by a file, then named: fine.
        #expect(Self.refusal([Self.file("d/f"), Self.directory("d")]) == nil)
    }

    @Test func countAndSizeLimits() {
        let small = ArchiveEntryPolicy.Limits(maxEntries: 3, maxTotalBytes: 100, maxFileBytes: 60, maxPathBytes: 1024, maxDepth: 32)
        #expect(Self.refusal([Self.file("a"), Self.file("b"), Self.file("c")], limits: small) == nil)
        #expect(Self.refusal([Self.file("a"), Self.file("b"), Self.file("c"), Self.file("d")], limits: small)?.contains("more than 3 members") == true)
        #expect(Self.refusal([Self.file("a", size: 60)], limits: small) == nil)
        #expect(Self.refusal([Self.file("a", size: 61)], limits: small)?.contains("\"a\" is 61 bytes") == true)
        #expect(Self.refusal([Self.file("a", size: 50), Self.file("b", size: 50)], limits: small) == nil)
        #expect(Self.refusal([Self.file("a", size: 50), Self.file("b", size: 50), Self.file("c", size: 1)], limits: small)?.contains("more than 100 bytes (at member \"c\")") == true)

        #expect(ArchiveEntryPolicy.Limits.templates == ArchiveEntryPolicy.Limits(maxEntries: 10_000, maxTotalBytes: 64 << 20, maxFileBytes: 64 << 20, maxPathBytes: 1024, maxDepth: 32))
    }

    @Test func theTenThousandAndFirstMemberIsRefused() throws {
        var policy = ArchiveEntryPolicy()
        for i in 0..<10_000 {
            _ = try policy.admit(Self.directory("d\(i)"))
        }
        #expect(policy.entryCount == 10_000)
        var refused: String?
        do {
            _ = try policy.admit(Self.directory("one-more"))
        } catch let error as TemplateArchiveError {
            refused = error.message
        } catch {}
        #expect(refused?.contains("more than 10000 members") == true)
    }
}

import Foundation
import Testing
@testable import ProvisionerDaemon

/// The tar reader under template extraction: what it reads out of ustar, GNU and pax headers,
/// and that a hostile archive is an error, never a trap or a read past the end.
@Suite struct TarReaderTests {
    static let end = [UInt8](repeating: 0, count: 1024)
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func flag(_ flag: Character) -> UInt8 { flag.asciiValue ?? 0 }
    /// Members one after the other (one call rather than a long chain of `+`, which is slow to type-check).
    static func concat(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }

    static func failure(_ archive: [UInt8]) -> String? {
        do {
            _ = try TarReader.entries(in: archive)
            return nil
        } catch let error as TemplateArchiveError {
            return error.message
        } catch {
            return "not a TemplateArchiveError: \(error)"
        }
    }

    @Test func readsFilesInOrderWithTheirContents() throws {
        let archive = TarArchive.make(files: [
            (name: "main.tf", contents: Self.bytes("resource \"terraform_data\" \"a\" {}\n")),
            (name: "scripts/run.sh", contents: Self.bytes("#!/bin/sh\n")),
            (name: "empty", contents: []),
        ])
        let entries = try TarReader.entries(in: archive)
        #expect(entries.map(\.name) == [Self.bytes("main.tf"), Self.bytes("scripts/run.sh"), Self.bytes("empty")])
        #expect(entries.allSatisfy { $0.kind == .file })
        #expect(entries.map { Array(archive[$0.data]) } == [Self.bytes("resource \"terraform_data\" \"a\" {}\n"), Self.bytes("#!/bin/sh\n"), []])
        #expect(entries[0].mode == 0o644)
        // The echo provisioner's reader still reads what the new maker writes.
        #expect(TarArchive.file(named: "scripts/run.sh", in: archive) == Self.bytes("#!/bin/sh\n"))
    }

    @Test func everyKindIsTold() throws {
        let archive = Self.concat(
            TarArchive.entry(name: "dir/", type: Self.flag("5"), mode: 0o755),
            TarArchive.entry(name: "link", type: Self.flag("2"), linkName: "dir/target"),
            TarArchive.entry(name: "hard", type: Self.flag("1"), linkName: "main.tf"),
            TarArchive.entry(name: "chr", type: Self.flag("3")),
            TarArchive.entry(name: "blk", type: Self.flag("4")),
            TarArchive.entry(name: "fifo", type: Self.flag("6")),
            TarArchive.entry(name: "contiguous", type: Self.flag("7"), contents: [1, 2]),
            TarArchive.entry(name: "old-style-dir/", type: 0),
            TarArchive.entry(name: "volume", type: Self.flag("V")),
            TarArchive.entry(name: "sparse", type: Self.flag("S")),
            TarArchive.entry(name: "exec", mode: 0o4755, contents: [0]),
            Self.end
        )
        let entries = try TarReader.entries(in: archive)
        #expect(entries.map(\.kind) == [.directory, .symlink, .hardLink, .characterDevice, .blockDevice, .fifo, .file, .directory, .other(Self.flag("V")), .sparse, .file])
        #expect(entries[1].linkTarget == Self.bytes("dir/target"))
        #expect(entries[2].linkTarget == Self.bytes("main.tf"))
        #expect(entries[0].linkTarget.isEmpty)
        #expect(entries[6].size == 2)
        #expect(entries[10].mode == 0o4755)
    }

    @Test func paxRecordsOverrideTheHeader() throws {
        let longName = String(repeating: "d/", count: 80) + "main.tf" // 167 bytes
        let archive = TarArchive.make(files: [(name: longName, contents: Self.bytes("x"))])
        let entries = try TarReader.entries(in: archive)
        #expect(entries.map(\.name) == [Self.bytes(longName)])
        #expect(entries.map(\.size) == [1])

        // path, linkpath and size, each applying to the next member only.
        let contents = Self.bytes("hello, pax")
        let sized = Self.concat(
            TarArchive.paxEntry([("path", Self.bytes("real/name.tf")), ("size", Self.bytes("\(contents.count)")), ("mtime", Self.bytes("1700000000.5"))]),
            TarArchive.header(name: "truncated", size: 0),
            TarArchive.padded(contents),
            TarArchive.paxEntry([("linkpath", Self.bytes("a/very/long/target"))]),
            TarArchive.entry(name: "l", type: Self.flag("2"), linkName: "short"),
            TarArchive.entry(name: "plain", contents: [7]),
            Self.end
        )
        let read = try TarReader.entries(in: sized)
        #expect(read.map(\.name) == [Self.bytes("real/name.tf"), Self.bytes("l"), Self.bytes("plain")])
        #expect(Array(sized[read[0].data]) == contents)
        #expect(read[1].linkTarget == Self.bytes("a/very/long/target"))
        #expect(Array(sized[read[2].data]) == [7])
    }

    @Test func anEmptyPaxValueMeansNoOverride() throws {
        let archive = Self.concat(TarArchive.paxEntry([("path", [])]), TarArchive.entry(name: "kept.tf", contents: [1]), Self.end)
        #expect(try TarReader.entries(in: archive).map(\.name) == [Self.bytes("kept.tf")])
    }

    @Test func gnuLongNamesAndLinks() throws {
        let name = String(repeating: "n", count: 300)
        let target = String(repeating: "t", count: 200)
        let archive = Self.concat(
            TarArchive.header(name: "././@LongLink", type: Self.flag("L"), size: name.utf8.count + 1),
            TarArchive.padded(Self.bytes(name + "\0")),
            TarArchive.header(name: "././@LongLink", type: Self.flag("K"), size: target.utf8.count + 1),
            TarArchive.padded(Self.bytes(target + "\0")),
            TarArchive.entry(name: String(name.prefix(100)), type: Self.flag("2"), linkName: String(target.prefix(100))),
            Self.end
        )
        let entries = try TarReader.entries(in: archive)
        #expect(entries.count == 1)
        #expect(entries[0].name == Self.bytes(name))
        #expect(entries[0].linkTarget == Self.bytes(target))
    }

    @Test func globalPaxHeadersAreSkipped() throws {
        let archive = Self.concat(
            TarArchive.paxEntry([("path", Self.bytes("global/ignored")), ("comment", Self.bytes("made by git"))], type: Self.flag("g")),
            TarArchive.entry(name: "main.tf", contents: [1]),
            Self.end
        )
        #expect(try TarReader.entries(in: archive).map(\.name) == [Self.bytes("main.tf")])
    }

    @Test func theUstarPrefixIsJoinedToTheName() throws {
        var header = TarArchive.header(name: "main.tf", size: 0)
        for (i, byte) in Self.bytes("deep/dir").enumerated() { header[345 + i] = byte }
        let archive = TarArchive.checksummed(header) + Self.end
        #expect(try TarReader.entries(in: archive).map(\.name) == [Self.bytes("deep/dir/main.tf")])

        // In a GNU header ("ustar  \0") those bytes are other fields, not a prefix.
        var gnu = header
        for (i, byte) in (Self.bytes("ustar  ") + [0]).enumerated() { gnu[257 + i] = byte }
        #expect(try TarReader.entries(in: TarArchive.checksummed(gnu) + Self.end).map(\.name) == [Self.bytes("main.tf")])
    }

    @Test func linksAndDirectoriesCarryNoDataWhateverTheirSize() throws {
        // A symlink header claiming 1024 bytes: the next header follows at once.
        let archive = Self.concat(
            TarArchive.header(name: "l", type: Self.flag("2"), size: 1024, linkName: "t"),
            TarArchive.entry(name: "after", contents: [9]),
            Self.end
        )
        let entries = try TarReader.entries(in: archive)
        #expect(entries.map(\.name) == [Self.bytes("l"), Self.bytes("after")])
        #expect(entries[0].data.isEmpty)
    }

    @Test func emptyArchivesHaveNoMembers() throws {
        #expect(try TarReader.entries(in: []).isEmpty)
        #expect(try TarReader.entries(in: Self.end).isEmpty)
        #expect(try TarReader.entries(in: [UInt8](repeating: 0, count: 100)).isEmpty)
        // What follows the end is not read.
        #expect(try TarReader.entries(in: Self.end + [1, 2, 3]).isEmpty)
        // No end blocks at all, or a last member without its padding: the members are still read.
        let bare = TarArchive.header(name: "a", size: 3) + [1, 2, 3]
        #expect(try TarReader.entries(in: bare).map(\.size) == [3])
    }

    // MARK: - Hostile headers

    @Test func aWrongChecksumIsRefused() throws {
        var archive = TarArchive.make(files: [(name: "main.tf", contents: [1])])
        archive[0] = UInt8(ascii: "x")
        #expect(Self.failure(archive)?.contains("checksum") == true)
        var garbled = TarArchive.make(files: [(name: "main.tf", contents: [1])])
        for i in 148..<156 { garbled[i] = UInt8(ascii: "9") }
        #expect(Self.failure(garbled)?.contains("checksum") == true)
        // Not a tar at all.
        #expect(Self.failure(Array(String(repeating: "not a tar archive ", count: 40).utf8))?.contains("not a tar archive") == true)
    }

    @Test func sizesPastTheEndAreRefused() {
        // The header says 4096 bytes; 512 follow, and no end blocks.
        let archive = TarArchive.header(name: "big.tf", size: 4096) + [UInt8](repeating: 1, count: 512)
        let message = Self.failure(archive)
        #expect(message?.contains("past the end") == true)
        #expect(message?.contains("big.tf") == true)
        // The largest octal size the field holds.
        var huge = TarArchive.header(name: "huge", size: 0)
        for (i, byte) in (Self.bytes("77777777777") + [0]).enumerated() { huge[124 + i] = byte }
        #expect(Self.failure(TarArchive.checksummed(huge) + Self.end)?.contains("past the end") == true)
        // A pax size past the end.
        let pax = Self.concat(TarArchive.paxEntry([("size", Self.bytes("999999999999999999"))]), TarArchive.header(name: "a", size: 0), Self.end)
        #expect(Self.failure(pax)?.contains("past the end") == true)
        // An extended header whose own size is past the end.
        let longLink = TarArchive.header(name: "././@LongLink", type: Self.flag("L"), size: 100_000) + [UInt8](repeating: 0, count: 512)
        #expect(Self.failure(longLink)?.contains("past the end") == true)
    }

    @Test func badNumericFieldsAreRefused() {
        func withSize(_ field: [UInt8]) -> [UInt8] {
            var header = TarArchive.header(name: "f", size: 0)
            for i in 124..<136 { header[i] = i - 124 < field.count ? field[i - 124] : 0 }
            return TarArchive.checksummed(header) + Self.end
        }
        // GNU base-256 (a size of 8 GiB or more).
        let base256: [UInt8] = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]
        #expect(Self.failure(withSize(base256))?.contains("base-256") == true)
        for field in ["-1", "0x10", "1 2", "89", "7a"] {
            #expect(Self.failure(withSize(Self.bytes(field)))?.contains("not an octal number") == true, "size \(field)")
        }
        // Leading spaces and a space terminator are octal still.
        #expect(Self.failure(withSize(Self.bytes("   0000000 "))) == nil)
        let badPaxSize = Self.concat(TarArchive.paxEntry([("size", Self.bytes("12x"))]), TarArchive.header(name: "a", size: 0), Self.end)
        #expect(Self.failure(badPaxSize)?.contains("pax size") == true)
    }

    @Test func malformedPaxRecordsAreRefused() {
        func withPayload(_ payload: [UInt8]) -> [UInt8] {
            Self.concat(
                TarArchive.header(name: "PaxHeaders/x", type: Self.flag("x"), size: payload.count),
                TarArchive.padded(payload),
                TarArchive.entry(name: "a"),
                Self.end
            )
        }
        #expect(Self.failure(withPayload(Self.bytes("path=x\n"))) != nil)
        #expect(Self.failure(withPayload(Self.bytes("99 path=x\n"))) != nil)
        #expect(Self.failure(withPayload(Self.bytes("3 path=x\n"))) != nil)
        #expect(Self.failure(withPayload(Self.bytes("10 path=xy"))) != nil)
        #expect(Self.failure(withPayload(Self.bytes("9 pathxy\n"))) != nil)
        #expect(Self.failure(withPayload(Self.bytes("99999999999999999999 path=x\n")))?.contains("absurd") == true)
        // Well-formed, with NUL padding after the records.
        #expect(Self.failure(withPayload(TarArchive.paxRecord("path", Self.bytes("b")) + [0, 0])) == nil)
    }

    @Test func anExtendedHeaderWithNoMemberIsRefused() {
        #expect(Self.failure(TarArchive.paxEntry([("path", Self.bytes("a"))]) + Self.end)?.contains("no member") == true)
        #expect(Self.failure(TarArchive.paxEntry([("path", Self.bytes("a"))]))?.contains("no member") == true)
        #expect(Self.failure(TarArchive.paxEntry([("path", [])], type: Self.flag("g")) + Self.end) == nil)
    }

    @Test func aTruncatedHeaderIsRefused() {
        let archive = TarArchive.make(files: [(name: "main.tf", contents: [1])])
        #expect(Self.failure(Array(archive.prefix(300)))?.contains("middle of a header") == true)
        #expect(Self.failure(Array(archive.prefix(1024 + 200))) == nil) // one member, then 200 zero bytes
    }

    @Test func randomAndMutatedArchivesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        // Few enough to stay well under a second in a debug build: these run on the cooperative
        // pool beside the in-process servers of other tests, and a long synchronous test starves them.
        for _ in 0..<100 {
            let bytes = (0..<Int.random(in: 0...4096, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? TarReader.entries(in: bytes)
        }
        let valid = TarArchive.paxEntry([("path", Self.bytes("p/q.tf"))]) + TarArchive.make(files: [(name: "a.tf", contents: [1, 2, 3]), (name: "b/c.tf", contents: Array(repeating: 7, count: 700))])
        for _ in 0..<400 {
            var mutated = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<mutated.count, using: &generator)
                mutated[index] = UInt8.random(in: 0...255, using: &generator)
            }
            // Keep the checksum right half the time, so that the fields behind it are reached.
            if Bool.random(using: &generator) {
                mutated.replaceSubrange(0..<512, with: TarArchive.checksummed(Array(mutated[0..<512])))
            }
            if let entries = try? TarReader.entries(in: mutated) {
                for entry in entries { #expect(entry.data.upperBound <= mutated.count) }
            }
        }
    }
}

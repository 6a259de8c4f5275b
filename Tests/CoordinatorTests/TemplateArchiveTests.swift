#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
@testable import ProvisionerDaemon

/// Extracting template archives onto disk, hostile ones included: in a sandbox per test
/// (`<tmp>/<uuid>/`, holding the job's root `root/`, 0700), so that anything written outside the
/// root would show in the sandbox.
@Suite struct TemplateArchiveTests {
    final class Sandbox {
        let path: String
        var root: String { path + "/root" }

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("template-archive-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            guard mkdir(path + "/root", 0o700) == 0 else { throw TemplateArchiveError("cannot create the test's root") }
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Everything in the sandbox, recursively, without following links (`root/a`, `root/d/f`).
        func listing() -> [String] {
            var found: [String] = []
            func walk(_ relative: String) {
                let full = path + "/" + relative
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: full)) ?? []).sorted() {
                    let child = relative.isEmpty ? name : relative + "/" + name
                    found.append(child)
                    if TemplateArchiveTests.kind(of: path + "/" + child) == S_IFDIR { walk(child) }
                }
            }
            walk("")
            return found
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    /// Members one after the other (one call rather than a long chain of `+`, which is slow to type-check).
    static func concat(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }
    static let end = [UInt8](repeating: 0, count: 1024)

    /// The file's own status, not its link target's.
    static func status(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    static func kind(of path: String) -> mode_t? {
        status(path).map { $0.st_mode & S_IFMT }
    }

    static func permissions(of path: String) -> mode_t? {
        status(path).map { $0.st_mode & 0o7777 }
    }

    static func failure(_ archive: [UInt8], into root: String) -> String? {
        do {
            try TemplateArchive.extract(archive, into: root)
            return nil
        } catch let error as TemplateArchiveError {
            return error.message
        } catch {
            return "not a TemplateArchiveError: \(error)"
        }
    }

    // MARK: - What is written

    @Test func filesDirectoriesAndLinksAreWrittenExactly() throws {
        let sandbox = try Sandbox()
        let main = Self.bytes("resource \"terraform_data\" \"a\" {}\n")
        let script = Self.bytes("#!/bin/sh\necho hi\n")
        let variables = Self.bytes("variable \"x\" {}\n")
        let big = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let archive = Self.concat(
            TarArchive.entry(name: "./", type: UInt8(ascii: "5"), mode: 0o777),
            TarArchive.entry(name: "main.tf", mode: 0o666, contents: main),
            TarArchive.entry(name: "scripts/", type: UInt8(ascii: "5"), mode: 0o700),
            TarArchive.entry(name: "scripts/start.sh", mode: 0o4750, contents: script),
            TarArchive.entry(name: "data/blob.bin", contents: big),
            TarArchive.entry(name: "empty.txt"),
            TarArchive.entry(name: "scripts/current", type: UInt8(ascii: "2"), linkName: "start.sh"),
            TarArchive.entry(name: "modules/net/variables.tf", contents: variables),
            Self.end
        )

        let extracted = try TemplateArchive.extract(archive, into: sandbox.root)
        #expect(extracted == TemplateArchive.Extracted(files: 5, directories: 1, symlinks: 1, bytes: main.count + script.count + big.count + variables.count))
        #expect(sandbox.listing() == [
            "root", "root/data", "root/data/blob.bin", "root/empty.txt", "root/main.tf", "root/modules", "root/modules/net",
            "root/modules/net/variables.tf", "root/scripts", "root/scripts/current", "root/scripts/start.sh",
        ])
        #expect(FileManager.default.contents(atPath: sandbox.root + "/main.tf") == Data(main))
        #expect(FileManager.default.contents(atPath: sandbox.root + "/data/blob.bin") == Data(big))
        #expect(FileManager.default.contents(atPath: sandbox.root + "/empty.txt") == Data())
        #expect(FileManager.default.contents(atPath: sandbox.root + "/scripts/start.sh") == Data(script))
        #expect(FileManager.default.contents(atPath: sandbox.root + "/modules/net/variables.tf") == Data(variables))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: sandbox.root + "/scripts/current") == "start.sh")
        #expect(Self.kind(of: sandbox.root + "/scripts/current") == S_IFLNK)

        // Modes: masked, whatever the archive or the umask say.
        #expect(Self.permissions(of: sandbox.root + "/main.tf") == 0o644)
        #expect(Self.permissions(of: sandbox.root + "/scripts/start.sh") == 0o755)
        #expect(Self.permissions(of: sandbox.root + "/empty.txt") == 0o644)
        #expect(Self.permissions(of: sandbox.root + "/scripts") == 0o755)
        #expect(Self.permissions(of: sandbox.root + "/modules/net") == 0o755)
        // The root is the caller's: left as it was made.
        #expect(Self.permissions(of: sandbox.root) == 0o700)
    }

    @Test func theEchoTemplatesStillExtract() throws {
        let sandbox = try Sandbox()
        try TemplateArchive.extract(TarArchive.make(name: "manifest.json", contents: Self.bytes("{}")), into: sandbox.root)
        #expect(FileManager.default.contents(atPath: sandbox.root + "/manifest.json") == Data("{}".utf8))
    }

    // MARK: - Refused archives write nothing

    /// Each of these is refused before anything is written: the root stays empty and nothing
    /// appears beside it.
    @Test func hostileArchivesAreRefusedAndWriteNothing() throws {
        let sandbox = try Sandbox()
        let good = TarArchive.entry(name: "main.tf", contents: Self.bytes("ok"))
        let symlink = UInt8(ascii: "2")
        var cases: [(name: String, archive: [UInt8], says: String)] = []
        func add(_ name: String, _ says: String, _ members: [UInt8]...) {
            cases.append((name: name, archive: members.flatMap { $0 }, says: says))
        }
        add("dot-dot path", "'..'", good, TarArchive.entry(name: "../escaped.tf", contents: Self.bytes("x")), Self.end)
        add("nested dot-dot", "'..'", good, TarArchive.entry(name: "a/../../escaped.tf", contents: Self.bytes("x")), Self.end)
        add("absolute path", "absolute", good, TarArchive.entry(name: sandbox.path + "/absolute.tf", contents: Self.bytes("x")), Self.end)
        add("symlink out", "'..'", good, TarArchive.entry(name: "out", type: symlink, linkName: "../.."), Self.end)
        add("absolute symlink", "absolute", good, TarArchive.entry(name: "out", type: symlink, linkName: sandbox.path), Self.end)
        add("two-step symlink", "'..'", good, TarArchive.entry(name: "d1/L", type: symlink, linkName: ".."), TarArchive.entry(name: "M", type: symlink, linkName: "d1/L/.."), Self.end)
        add("hard link", "hard link", good, TarArchive.entry(name: "hard", type: UInt8(ascii: "1"), linkName: "main.tf"), Self.end)
        add("fifo", "fifo", good, TarArchive.entry(name: "pipe", type: UInt8(ascii: "6")), Self.end)
        add("write through a link", "inside L", good, TarArchive.entry(name: "L", type: symlink, linkName: "sub"), TarArchive.entry(name: "L/x.tf", contents: Self.bytes("x")), Self.end)
        add("duplicate", "already has", good, good, Self.end)
        add("pax path with dot-dot", "'..'", good, TarArchive.paxEntry([("path", Self.bytes("../pax-escaped.tf"))]), TarArchive.entry(name: "innocent.tf", contents: Self.bytes("x")), Self.end)
        add("pax linkpath with dot-dot", "'..'", good, TarArchive.paxEntry([("linkpath", Self.bytes("../../etc"))]), TarArchive.entry(name: "l", type: symlink, linkName: "fine"), Self.end)
        add("size past the end", "past the end", good, TarArchive.header(name: "big.tf", size: 1 << 20), [UInt8](repeating: 1, count: 512))
        var damaged = TarArchive.header(name: "x", size: 0)
        damaged[0] = UInt8(ascii: "y")
        add("bad checksum", "checksum", good, damaged, Self.end)
        add("zip", "zip archives are not supported yet", [0x50, 0x4B, 0x03, 0x04], [UInt8](repeating: 0, count: 100))
        add("empty zip", "zip archives are not supported yet", [0x50, 0x4B, 0x05, 0x06], [UInt8](repeating: 0, count: 18))
        add("gzip", "gzip", [0x1F, 0x8B, 0x08, 0x00], [UInt8](repeating: 0, count: 100))
        for (name, archive, says) in cases {
            let message = Self.failure(archive, into: sandbox.root)
            #expect(message?.contains(says) == true, "\(name): \(message ?? "extracted")")
            #expect(sandbox.listing() == ["root"], "\(name) wrote something")
        }
    }

    /// The member limit, through the extractor (with a small limit: the 10,000 of `.templates` is
    /// the policy's test, `theTenThousandAndFirstMemberIsRefused`; building such an archive here
    /// takes seconds of a debug build, on the pool the in-process servers of other tests share).
    @Test func membersPastTheLimitAreRefusedBeforeAnythingIsWritten() throws {
        let sandbox = try Sandbox()
        var archive: [UInt8] = []
        for i in 0...10 {
            archive += TarArchive.header(name: "d\(i)/", type: UInt8(ascii: "5"), mode: 0o755, size: 0)
        }
        archive += Self.end
        let limits = ArchiveEntryPolicy.Limits(maxEntries: 10, maxTotalBytes: 1000, maxFileBytes: 1000, maxPathBytes: 1024, maxDepth: 32)
        do {
            _ = try TemplateArchive.extract(archive, into: sandbox.root, limits: limits)
            Issue.record("eleven members were taken")
        } catch {
            #expect(error.message.contains("more than 10 members"), "\(error.message)")
        }
        #expect(sandbox.listing() == ["root"])
    }

    @Test func tooManyBytesAreRefused() throws {
        let sandbox = try Sandbox()
        let small = ArchiveEntryPolicy.Limits(maxEntries: 100, maxTotalBytes: 1000, maxFileBytes: 600, maxPathBytes: 1024, maxDepth: 32)
        let archive = TarArchive.make(files: [(name: "a", contents: [UInt8](repeating: 1, count: 600)), (name: "b", contents: [UInt8](repeating: 2, count: 401))])
        var message: String?
        do {
            try TemplateArchive.extract(archive, into: sandbox.root, limits: small)
        } catch let error as TemplateArchiveError {
            message = error.message
        }
        #expect(message?.contains("more than 1000 bytes") == true)
        #expect(sandbox.listing() == ["root"])
    }

    // MARK: - The I/O side holds even when the root is not as promised

    @Test func aLinkAlreadyInTheRootIsNeverFollowed() throws {
        let sandbox = try Sandbox()
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: sandbox.root + "/evil", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: sandbox.root + "/evil.tf", withDestinationPath: outside + "/target.tf")

        // A directory through the link: O_NOFOLLOW on every component refuses it.
        let through = TarArchive.make(files: [(name: "evil/x.tf", contents: Self.bytes("x"))])
        #expect(Self.failure(through, into: sandbox.root)?.contains("evil") == true)
        // A file over the link: O_EXCL|O_NOFOLLOW refuses it.
        let over = TarArchive.make(files: [(name: "evil.tf", contents: Self.bytes("x"))])
        #expect(Self.failure(over, into: sandbox.root)?.contains("appears twice") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: outside + "/target.tf"))
    }

    @Test func anExistingFileIsNeverOverwritten() throws {
        let sandbox = try Sandbox()
        try Data("mine".utf8).write(to: URL(fileURLWithPath: sandbox.root + "/main.tf"))
        let archive = TarArchive.make(files: [(name: "main.tf", contents: Self.bytes("theirs"))])
        #expect(Self.failure(archive, into: sandbox.root)?.contains("appears twice") == true)
        #expect(FileManager.default.contents(atPath: sandbox.root + "/main.tf") == Data("mine".utf8))
    }

    // MARK: - A directory of its own

    @Test func extractIntoNewDirectoryCreatesItPrivately() throws {
        let sandbox = try Sandbox()
        let job = sandbox.path + "/job"
        let extracted = try TemplateArchive.extractIntoNewDirectory(TarArchive.make(files: [(name: "main.tf", contents: [1])]), at: job)
        #expect(extracted.files == 1)
        #expect(Self.permissions(of: job) == 0o700)
        #expect(FileManager.default.contents(atPath: job + "/main.tf") == Data([1]))
    }

    @Test func extractIntoNewDirectoryRemovesItOnFailure() throws {
        let sandbox = try Sandbox()
        let job = sandbox.path + "/job"
        // Refused part-way through the archive: the directory made for it is gone.
        let refused = TarArchive.make(files: [(name: "a.tf", contents: [1]), (name: "../b.tf", contents: [2])])
        #expect(throws: TemplateArchiveError.self) { try TemplateArchive.extractIntoNewDirectory(refused, at: job) }
        #expect(!FileManager.default.fileExists(atPath: job))

        // A job directory that exists already is not taken over (nor removed).
        try FileManager.default.createDirectory(atPath: job, withIntermediateDirectories: false)
        #expect(throws: TemplateArchiveError.self) { try TemplateArchive.extractIntoNewDirectory(TarArchive.make(files: [(name: "a.tf", contents: [1])]), at: job) }
        #expect(FileManager.default.fileExists(atPath: job))
        #expect(sandbox.listing() == ["job", "root"])
    }

    @Test func theFormatIsToldByItsFirstBytes() {
        #expect(ArchiveFormat.detect([0x50, 0x4B, 0x03, 0x04, 0x14]) == .zip)
        #expect(ArchiveFormat.detect([0x50, 0x4B, 0x05, 0x06]) == .zip)
        #expect(ArchiveFormat.detect([0x1F, 0x8B]) == .gzip)
        #expect(ArchiveFormat.detect(TarArchive.make(files: [])) == .tar)
        #expect(ArchiveFormat.detect([]) == .tar)
        #expect(ArchiveFormat.detect([0x50, 0x4B]) == .tar)
    }
}

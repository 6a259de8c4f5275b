#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Unpacks a template archive (the upload a job carries) into a job's private directory, safely:
/// every member is judged by `ArchiveEntryPolicy` before the first byte is written, so a refused
/// archive writes nothing at all; then directories and files are created below the root without
/// following any link, and links last.
///
/// The root is the caller's: it creates it (mode 0700, empty) and, **when extraction throws,
/// deletes the whole directory** — a write that fails half-way (disk full) leaves part of the
/// template behind. `extractIntoNewDirectory` does both for a caller that wants it done.
public enum TemplateArchive {
    public struct Extracted: Sendable, Equatable {
        public var files = 0
        public var directories = 0
        public var symlinks = 0
        /// File contents written, in bytes.
        public var bytes = 0
        public init(files: Int = 0, directories: Int = 0, symlinks: Int = 0, bytes: Int = 0) {
            self.files = files
            self.directories = directories
            self.symlinks = symlinks
            self.bytes = bytes
        }
    }

    /// The pure half: what would be written, in order, or why the archive is refused.
    public static func plan(_ archive: [UInt8], limits: ArchiveEntryPolicy.Limits = .templates) throws(TemplateArchiveError) -> [ArchiveEntryPolicy.Decision] {
        switch ArchiveFormat.detect(archive) {
        case .zip: throw TemplateArchiveError("zip archives are not supported yet; upload the template as a tar archive")
        case .gzip: throw TemplateArchiveError("compressed (gzip) archives are not supported; upload the template as a plain tar archive")
        case .tar: break
        }
        var reader = TarReader(archive)
        var policy = ArchiveEntryPolicy(limits: limits)
        var decisions: [ArchiveEntryPolicy.Decision] = []
        while let entry = try reader.next() {
            let decision = try policy.admit(entry)
            if decision != .skip { decisions.append(decision) }
        }
        return decisions
    }

    /// Extracts `archive` into the existing directory `root`. On a throw the caller deletes `root`.
    @discardableResult
    public static func extract(_ archive: [UInt8], into root: String, limits: ArchiveEntryPolicy.Limits = .templates) throws(TemplateArchiveError) -> Extracted {
        let decisions = try plan(archive, limits: limits)
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw failure(errno, "cannot open the job directory \(root)") }
        defer { close(rootFD) }

        var extracted = Extracted()
        // Links last: until then no link exists below the root, so creating a file can never go
        // through one (and every directory is opened with O_NOFOLLOW besides).
        for decision in decisions {
            switch decision {
            case .directory(let path):
                let fd = try openDirectory(Self.components(path), below: rootFD, shown: path)
                close(fd)
                extracted.directories += 1
            case .file(let path, let mode, let data):
                var components = Self.components(path)
                guard let name = components.popLast() else { continue }
                let parent = try openDirectory(components, below: rootFD, shown: path)
                defer { close(parent) }
                try writeFile(name, in: parent, mode: mode, contents: archive[data], shown: path)
                extracted.files += 1
                extracted.bytes += data.count
            case .symlink, .skip:
                continue
            }
        }
        for decision in decisions {
            guard case .symlink(let path, let target) = decision else { continue }
            var components = Self.components(path)
            guard let name = components.popLast() else { continue }
            let parent = try openDirectory(components, below: rootFD, shown: path)
            defer { close(parent) }
            guard symlinkat(target, parent, name) == 0 else {
                let code = errno
                throw failure(code, code == EEXIST ? "\(path) appears twice in the archive" : "cannot create the link \(path)")
            }
            extracted.symlinks += 1
        }
        return extracted
    }

    /// Creates `root` (mode 0700; its parent must exist and `root` must not), extracts into it,
    /// and removes it again if anything fails.
    @discardableResult
    public static func extractIntoNewDirectory(_ archive: [UInt8], at root: String, limits: ArchiveEntryPolicy.Limits = .templates) throws(TemplateArchiveError) -> Extracted {
        guard mkdir(root, 0o700) == 0 else { throw failure(errno, "cannot create the job directory \(root)") }
        do throws(TemplateArchiveError) {
            return try extract(archive, into: root, limits: limits)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    // MARK: - I/O below the root

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    /// Opens (creating as needed, mode 0755) the directory `components` below `rootFD`, one
    /// component at a time with O_NOFOLLOW: a link or a file in the way fails rather than being
    /// followed. The caller closes the descriptor.
    static func openDirectory(_ components: [String], below rootFD: Int32, shown: String) throws(TemplateArchiveError) -> Int32 {
        var current = dup(rootFD)
        guard current >= 0 else { throw failure(errno, "cannot open the job directory") }
        for component in components {
            let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
            var next = openat(current, component, flags)
            if next < 0 && errno == ENOENT {
                guard mkdirat(current, component, 0o755) == 0 || errno == EEXIST else {
                    let reason = failure(errno, "cannot create the directory \(component) for \(shown)")
                    close(current)
                    throw reason
                }
                next = openat(current, component, flags)
                // Whatever the daemon's umask, directories are 0755.
                if next >= 0 { _ = fchmod(next, mode_t(ArchiveEntryPolicy.directoryMode)) }
            }
            if next < 0 {
                let reason = failure(errno, "cannot open the directory \(component) for \(shown) (a file or a link is in the way?)")
                close(current)
                throw reason
            }
            close(current)
            current = next
        }
        return current
    }

    /// Creates `name` in `directory` (never over an existing file or link) with exactly
    /// `contents`, then sets `mode` whatever the umask.
    static func writeFile(_ name: String, in directory: Int32, mode: UInt32, contents: ArraySlice<UInt8>, shown: String) throws(TemplateArchiveError) {
        let fd = openat(directory, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else {
            let code = errno
            throw failure(code, code == EEXIST ? "\(shown) appears twice in the archive" : "cannot create \(shown)")
        }
        defer { close(fd) }
        var writeError: Int32 = 0
        let written: Bool = contents.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let count = write(fd, base.advanced(by: offset), buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    writeError = errno
                    return false
                }
                if count == 0 {
                    writeError = EIO
                    return false
                }
                offset += count
            }
            return true
        }
        guard written else { throw failure(writeError, "cannot write \(shown)") }
        guard fchmod(fd, mode_t(mode)) == 0 else { throw failure(errno, "cannot set the mode of \(shown)") }
    }

    /// An error with the system's reason. `errno` comes first: arguments are evaluated left to
    /// right, so it is read before the message is built (which may call into the allocator).
    static func failure(_ code: Int32, _ message: String) -> TemplateArchiveError {
        TemplateArchiveError("\(message): \(String(cString: strerror(code)))")
    }
}

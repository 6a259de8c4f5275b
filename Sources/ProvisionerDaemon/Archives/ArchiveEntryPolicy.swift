/// Decides, member by member, what of a template archive may be written and where: pure, so
/// every hostile archive is a unit test. It sees the members in archive order and remembers what
/// came before (counts, sizes, the paths taken), because some refusals depend on it.
///
/// - Names: no absolute path, no `..` component, no NUL, not empty, UTF-8, at most 1024 bytes and
///   32 components. `.` components and repeated slashes are dropped (`./a//b` is `a/b`); the
///   archive's own root (`./`) is skipped.
/// - Kinds: directories and regular files are written; symbolic links only when the target is
///   relative with no `..` component; hard links, devices, fifos, sparse files and anything else
///   are refused.
/// - Paths: one member per path (a second is refused, as is a member inside a file or a link:
///   `f` then `f/x`, or `L` then `L/x`, which would write through the link).
/// - Limits: at most 10,000 members, 64 MiB unpacked in total and per file.
/// - Modes: files 0644, or 0755 when the archive gives any execute bit; directories 0755. No
///   setuid, setgid or sticky bit, nothing writable by others.
///
/// Why links are judged by their target's text rather than by where it lands: a purely lexical
/// "does `dir/link` + `target` stay inside the root" check is not enough, because it cannot know
/// which components are themselves links. `d1/L -> ..` is lexically inside (`d1/..` is the root),
/// and so is `M -> d1/L/..` (lexically `d1`), yet following `M` goes through `L` to the root, and
/// its `..` to the root's parent: outside. Forbidding `..` altogether makes every link point at or
/// below its own directory, so any chain of links stays inside, whatever the order they resolve in.
public struct ArchiveEntryPolicy: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxEntries: Int
        public var maxTotalBytes: Int
        public var maxFileBytes: Int
        public var maxPathBytes: Int
        public var maxDepth: Int

        public init(maxEntries: Int, maxTotalBytes: Int, maxFileBytes: Int, maxPathBytes: Int, maxDepth: Int) {
            self.maxEntries = maxEntries
            self.maxTotalBytes = maxTotalBytes
            self.maxFileBytes = maxFileBytes
            self.maxPathBytes = maxPathBytes
            self.maxDepth = maxDepth
        }

        /// Template archives: generous for `*.tf` files and a few scripts, small enough that a
        /// hostile archive cannot fill the daemon's disk or inode table.
        public static let templates = Limits(maxEntries: 10_000, maxTotalBytes: 64 << 20, maxFileBytes: 64 << 20, maxPathBytes: 1024, maxDepth: 32)
    }

    public enum Decision: Sendable, Equatable {
        /// Create this directory (and its parents), mode `directoryMode`.
        case directory(path: String)
        /// Create this file with this mode and the archive's bytes in `data`.
        case file(path: String, mode: UInt32, data: Range<Int>)
        /// Create this link, after every file and directory.
        case symlink(path: String, target: String)
        /// Nothing to do (the archive's root directory, `./`).
        case skip
    }

    public static let directoryMode: UInt32 = 0o755
    public static let fileMode: UInt32 = 0o644
    public static let executableMode: UInt32 = 0o755

    public let limits: Limits
    public private(set) var entryCount = 0
    public private(set) var totalBytes = 0
    /// Directories the archive names or implies (`a/b/f` implies `a` and `a/b`).
    private var directories: Set<String> = []
    /// Directories named by a member of their own: a second such member is a duplicate.
    private var namedDirectories: Set<String> = []
    /// Files and links: nothing may share their path or sit below them.
    private var leaves: Set<String> = []

    public init(limits: Limits = .templates) {
        self.limits = limits
    }

    /// The decision for the next member, or why the archive is refused.
    public mutating func admit(_ entry: TarEntry) throws(TemplateArchiveError) -> Decision {
        entryCount += 1
        guard entryCount <= limits.maxEntries else {
            throw TemplateArchiveError("the archive has more than \(limits.maxEntries) members; at most \(limits.maxEntries) are extracted")
        }
        let shown = "\"\(entry.displayName)\""
        let components = try Self.components(of: entry.name, limits: limits, describing: "member \(shown)")

        switch entry.kind {
        case .directory:
            guard !components.isEmpty else { return .skip }
            let path = components.joined(separator: "/")
            if leaves.contains(path) {
                throw TemplateArchiveError("member \(shown) is a directory, but the archive already has a file or link at \(path)")
            }
            guard namedDirectories.insert(path).inserted else {
                throw TemplateArchiveError("member \(shown) names the directory \(path) a second time")
            }
            try claimParents(of: components, shown: shown)
            directories.insert(path)
            return .directory(path: path)

        case .file:
            let path = try leafPath(components, shown: shown)
            guard entry.size <= limits.maxFileBytes else {
                throw TemplateArchiveError("member \(shown) is \(entry.size) bytes; a file may be at most \(limits.maxFileBytes) bytes")
            }
            guard entry.size <= limits.maxTotalBytes - totalBytes else {
                throw TemplateArchiveError("the archive unpacks to more than \(limits.maxTotalBytes) bytes (at member \(shown))")
            }
            try claimParents(of: components, shown: shown)
            totalBytes += entry.size
            leaves.insert(path)
            return .file(path: path, mode: Self.mode(for: entry.mode), data: entry.data)

        case .symlink:
            let path = try leafPath(components, shown: shown)
            let target = try Self.symlinkTarget(entry.linkTarget, limits: limits, shown: shown)
            try claimParents(of: components, shown: shown)
            leaves.insert(path)
            return .symlink(path: path, target: target)

        case .hardLink:
            throw TemplateArchiveError("member \(shown) is a hard link (to \"\(TarEntry.display(entry.linkTarget))\"); hard links are not extracted")
        case .characterDevice:
            throw TemplateArchiveError("member \(shown) is a character device; only files, directories and relative links are extracted")
        case .blockDevice:
            throw TemplateArchiveError("member \(shown) is a block device; only files, directories and relative links are extracted")
        case .fifo:
            throw TemplateArchiveError("member \(shown) is a fifo; only files, directories and relative links are extracted")
        case .sparse:
            throw TemplateArchiveError("member \(shown) is a sparse file; only plain files are extracted")
        case .other(let type):
            let flag = (0x20..<0x7F).contains(type) ? "'\(Character(Unicode.Scalar(type)))'" : "\(type)"
            throw TemplateArchiveError("member \(shown) has type \(flag), which is not extracted; only files, directories and relative links are")
        }
    }

    /// The mode a file gets: 0755 when the archive gives it any execute bit, else 0644.
    public static func mode(for archived: UInt32) -> UInt32 {
        archived & 0o111 != 0 ? executableMode : fileMode
    }

    /// The path's components once `.` and empty ones are dropped, or why the name is refused.
    static func components(of name: [UInt8], limits: Limits, describing member: String) throws(TemplateArchiveError) -> [String] {
        guard !name.isEmpty else { throw TemplateArchiveError("a member has an empty name") }
        guard !name.contains(0) else { throw TemplateArchiveError("\(member) has a NUL byte in its name") }
        guard name.count <= limits.maxPathBytes else {
            throw TemplateArchiveError("\(member) has a name of \(name.count) bytes; at most \(limits.maxPathBytes) are allowed")
        }
        guard let text = String(validating: name, as: UTF8.self) else {
            throw TemplateArchiveError("\(member) has a name that is not UTF-8")
        }
        guard name.first != UInt8(ascii: "/") else {
            throw TemplateArchiveError("\(member) has an absolute path; members must be relative to the template's root")
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains("..") else {
            throw TemplateArchiveError("\(member) has a '..' component; members must stay inside the template's root")
        }
        let components = parts.filter { $0 != "." }.map(String.init)
        guard components.count <= limits.maxDepth else {
            throw TemplateArchiveError("\(member) is \(components.count) directories deep; at most \(limits.maxDepth) are allowed")
        }
        return components
    }

    /// A link's target: relative, no `..` component (see the type's comment for why), no NUL,
    /// UTF-8, not empty, no longer than a name may be.
    static func symlinkTarget(_ target: [UInt8], limits: Limits, shown: String) throws(TemplateArchiveError) -> String {
        let described = "member \(shown) is a link to \"\(TarEntry.display(target))\""
        guard !target.isEmpty else { throw TemplateArchiveError("member \(shown) is a link with an empty target") }
        guard !target.contains(0) else { throw TemplateArchiveError("\(described), which has a NUL byte") }
        guard target.count <= limits.maxPathBytes else {
            throw TemplateArchiveError("member \(shown) is a link whose target is \(target.count) bytes; at most \(limits.maxPathBytes) are allowed")
        }
        guard let text = String(validating: target, as: UTF8.self) else {
            throw TemplateArchiveError("\(described), which is not UTF-8")
        }
        guard target.first != UInt8(ascii: "/") else {
            throw TemplateArchiveError("\(described): an absolute target; links must be relative and stay inside the template")
        }
        guard !text.split(separator: "/").contains("..") else {
            throw TemplateArchiveError("\(described): a target with '..'; links may only point at or below their own directory")
        }
        return text
    }

    /// The path of a file or link, which must be new and not the root.
    private func leafPath(_ components: [String], shown: String) throws(TemplateArchiveError) -> String {
        guard !components.isEmpty else {
            throw TemplateArchiveError("member \(shown) names the template's root directory, but is not a directory")
        }
        let path = components.joined(separator: "/")
        guard !leaves.contains(path), !directories.contains(path) else {
            throw TemplateArchiveError("member \(shown) names \(path), which the archive already has")
        }
        return path
    }

    /// Records that every parent of `components` is a directory, refusing a parent that is a
    /// file or a link (writing below it would fail, or go through the link).
    private mutating func claimParents(of components: [String], shown: String) throws(TemplateArchiveError) {
        var parent = ""
        for component in components.dropLast() {
            parent = parent.isEmpty ? component : parent + "/" + component
            if leaves.contains(parent) {
                throw TemplateArchiveError("member \(shown) is inside \(parent), which is a file or a link in the archive")
            }
        }
        parent = ""
        for component in components.dropLast() {
            parent = parent.isEmpty ? component : parent + "/" + component
            directories.insert(parent)
        }
    }
}

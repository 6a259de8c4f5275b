/// One member of a tar archive, as the headers describe it (pax and GNU long names applied). Its
/// contents stay in the archive: `data` is their range there, already checked to lie inside it.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file
        case directory
        case symlink
        case hardLink
        case characterDevice
        case blockDevice
        case fifo
        /// A GNU sparse file (its data is not laid out as the file's bytes).
        case sparse
        /// Any other type flag (`V` volume label, `D` dump directory, vendor types…).
        case other(UInt8)
    }

    /// The name as the archive spells it: bytes, not yet checked (may be absolute, hold `..` or
    /// NUL, or not be UTF-8: the policy decides).
    public var name: [UInt8]
    public var kind: Kind
    /// The permission bits the header gives (`& 0o7777`).
    public var mode: UInt32
    /// A link's target (empty for other kinds).
    public var linkTarget: [UInt8]
    /// Where the contents are in the archive (empty for everything but files).
    public var data: Range<Int>

    public init(name: [UInt8], kind: Kind, mode: UInt32 = 0o644, linkTarget: [UInt8] = [], data: Range<Int> = 0..<0) {
        self.name = name
        self.kind = kind
        self.mode = mode
        self.linkTarget = linkTarget
        self.data = data
    }

    public var size: Int { data.count }

    /// The name for a message: decoded leniently, NUL shown as `\0`, cut to 128 characters.
    public var displayName: String { TarEntry.display(name) }

    static func display(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self).replacingNUL()
        return text.count > 128 ? String(text.prefix(128)) + "…" : text
    }
}

extension String {
    fileprivate func replacingNUL() -> String {
        guard contains("\0") else { return self }
        return split(separator: "\0", omittingEmptySubsequences: false).joined(separator: "\\0")
    }
}

/// Reads the members of a ustar, GNU or pax tar archive, one at a time. Pure, over bytes in
/// memory; the archive is hostile input, so every header is checked before it is believed:
///
/// - each header's checksum (the unsigned sum, or the signed one some old tars wrote);
/// - numeric fields are octal; GNU's base-256 form (for sizes of 8 GiB and more) is refused;
/// - a size is never trusted past the end of the archive, and every offset is computed from
///   sizes already checked to fit, so nothing overflows;
/// - pax `x` records (`path`, `linkpath`, `size`) and GNU `L`/`K` long names apply to the next
///   member; pax `g` global headers are skipped; extended headers are at most 1 MiB.
///
/// The first all-zero block ends the archive (tar writes two; what follows is ignored).
public struct TarReader: Sendable {
    public let archive: [UInt8]
    private var offset = 0

    static let block = 512
    static let maxExtendedHeaderBytes = 1 << 20

    public init(_ archive: [UInt8]) {
        self.archive = archive
    }

    /// Every member, or the first problem.
    public static func entries(in archive: [UInt8]) throws(TemplateArchiveError) -> [TarEntry] {
        var reader = TarReader(archive)
        var entries: [TarEntry] = []
        while let entry = try reader.next() { entries.append(entry) }
        return entries
    }

    /// The next member, or nil at the end of the archive.
    public mutating func next() throws(TemplateArchiveError) -> TarEntry? {
        var pax: [String: [UInt8]] = [:]
        var longName: [UInt8]?
        var longLink: [UInt8]?
        var pending = false
        while true {
            let remaining = archive.count - offset
            guard remaining >= Self.block else {
                // A tar made by a program ends on a block boundary; a few stray zero bytes are
                // forgiven, half a header is not.
                if archive[offset...].contains(where: { $0 != 0 }) {
                    throw TemplateArchiveError("the archive ends in the middle of a header (at byte \(offset)); it is truncated or not a tar archive")
                }
                if pending { throw TemplateArchiveError("the archive ends after an extended header, with no member for it") }
                return nil
            }
            let header = archive[offset..<offset + Self.block]
            if header.allSatisfy({ $0 == 0 }) {
                if pending { throw TemplateArchiveError("the archive ends after an extended header, with no member for it") }
                offset = archive.count
                return nil
            }
            let at = offset
            try Self.checkChecksum(header, at: at)
            let type = header[header.startIndex + 156]
            let headerName = Self.cString(header, 0, 100)
            let member = "the member at byte \(at) (\(TarEntry.display(headerName)))"
            var size = try Self.octal(header, 124, 12, field: "size", of: member)

            // An extended header's own payload: read and consumed here.
            let isExtension = type == UInt8(ascii: "x") || type == UInt8(ascii: "g") || type == UInt8(ascii: "L") || type == UInt8(ascii: "K")
            if isExtension {
                let start = at + Self.block
                guard size <= archive.count - start else {
                    throw TemplateArchiveError("\(member) says it holds \(size) bytes, past the end of the archive")
                }
                guard size <= Self.maxExtendedHeaderBytes else {
                    throw TemplateArchiveError("\(member) is an extended header of \(size) bytes; at most \(Self.maxExtendedHeaderBytes) are read")
                }
                let payload = archive[start..<start + size]
                offset = Self.advance(start, by: size, limit: archive.count)
                switch type {
                case UInt8(ascii: "x"):
                    for (key, value) in try Self.paxRecords(payload, of: member) { pax[key] = value }
                    pending = true
                case UInt8(ascii: "L"):
                    longName = Array(payload.prefix { $0 != 0 })
                    pending = true
                case UInt8(ascii: "K"):
                    longLink = Array(payload.prefix { $0 != 0 })
                    pending = true
                default:
                    // `g`: global pax records. Nothing we use may be set globally for every
                    // member (a global `path` would make no sense), so they are skipped.
                    break
                }
                continue
            }

            // A pax `size` replaces the header's (which cannot hold 8 GiB and more). An empty
            // value means "no override", as in pax.
            if let paxSize = pax["size"], !paxSize.isEmpty {
                guard paxSize.count <= 18, paxSize.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let value = Int(String(decoding: paxSize, as: UTF8.self)) else {
                    throw TemplateArchiveError("\(member) has a pax size that is not a number")
                }
                size = value
            }

            var name = headerName
            let magic = Array(header[(header.startIndex + 257)..<(header.startIndex + 263)])
            // Only POSIX ustar has a name prefix; in GNU headers those bytes hold other fields.
            if magic == Array("ustar\0".utf8) {
                let prefix = Self.cString(header, 345, 155)
                if !prefix.isEmpty { name = prefix + [UInt8(ascii: "/")] + headerName }
            }
            if let longName { name = longName }
            if let path = pax["path"], !path.isEmpty { name = path }
            var linkTarget = Self.cString(header, 157, 100)
            if let longLink { linkTarget = longLink }
            if let path = pax["linkpath"], !path.isEmpty { linkTarget = path }

            let kind = Self.kind(type, name: name, sparse: pax.keys.contains { $0.hasPrefix("GNU.sparse.") })
            // Links, directories, devices and fifos carry no contents, whatever their size field
            // says (as GNU tar and Go's archive/tar read them).
            let holdsData: Bool = switch kind {
            case .symlink, .hardLink, .directory, .characterDevice, .blockDevice, .fifo: false
            default: true
            }
            if !holdsData { size = 0 }
            let start = at + Self.block
            guard size <= archive.count - start else {
                throw TemplateArchiveError("\(member) says it holds \(size) bytes, past the end of the archive")
            }

            let rawMode = try Self.octal(header, 100, 8, field: "mode", of: member)
            let mode = UInt32(rawMode & 0o7777)
            offset = Self.advance(start, by: size, limit: archive.count)
            return TarEntry(name: name, kind: kind, mode: mode, linkTarget: kind == .symlink || kind == .hardLink ? linkTarget : [], data: start..<start + size)
        }
    }

    /// The offset after `size` bytes from `start` and their padding, at most `limit` (a last
    /// member whose padding is missing ends the archive rather than failing it). `size` was
    /// checked to fit before `limit`, so nothing here overflows.
    static func advance(_ start: Int, by size: Int, limit: Int) -> Int {
        let padded = size + (block - size % block) % block
        return padded > limit - start ? limit : start + padded
    }

    static func kind(_ type: UInt8, name: [UInt8], sparse: Bool) -> TarEntry.Kind {
        if sparse { return .sparse }
        switch type {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
            // Before POSIX, a directory was a regular member whose name ends in `/`.
            return name.last == UInt8(ascii: "/") ? .directory : .file
        case UInt8(ascii: "1"): return .hardLink
        case UInt8(ascii: "2"): return .symlink
        case UInt8(ascii: "3"): return .characterDevice
        case UInt8(ascii: "4"): return .blockDevice
        case UInt8(ascii: "5"): return .directory
        case UInt8(ascii: "6"): return .fifo
        case UInt8(ascii: "S"): return .sparse
        default: return .other(type)
        }
    }

    /// The header's checksum: the sum of its bytes with the checksum field read as spaces. POSIX
    /// says unsigned; some old tars summed signed bytes, and tar accepts either.
    static func checkChecksum(_ header: ArraySlice<UInt8>, at offset: Int) throws(TemplateArchiveError) {
        let stored: Int
        do {
            stored = try octal(header, 148, 8, field: "checksum", of: "the member at byte \(offset)")
        } catch {
            throw TemplateArchiveError("the header at byte \(offset) has no valid checksum: this is not a tar archive, or it is damaged")
        }
        var unsigned = 0
        var signed = 0
        for (i, byte) in header.enumerated() {
            let value = (148..<156).contains(i) ? UInt8(ascii: " ") : byte
            unsigned += Int(value)
            signed += Int(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else {
            throw TemplateArchiveError("the header at byte \(offset) has a wrong checksum: this is not a tar archive, or it is damaged")
        }
    }

    /// An octal field: optional leading spaces, octal digits, then NULs or spaces. At most 12
    /// digits (36 bits), so the value cannot overflow. An empty field is 0.
    static func octal(_ header: ArraySlice<UInt8>, _ at: Int, _ width: Int, field: String, of member: String) throws(TemplateArchiveError) -> Int {
        let bytes = header[(header.startIndex + at)..<(header.startIndex + at + width)]
        if let first = bytes.first, first & 0x80 != 0 {
            throw TemplateArchiveError("\(member) has a \(field) in base-256 (8 GiB or more); such archives are refused")
        }
        let isPadding: (UInt8) -> Bool = { $0 == 0 || $0 == 0x20 }
        let trimmed = bytes.drop(while: isPadding).reversed().drop(while: isPadding).reversed()
        var value = 0
        for byte in trimmed {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else {
                throw TemplateArchiveError("\(member) has a \(field) field that is not an octal number")
            }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// A NUL-terminated field.
    static func cString(_ header: ArraySlice<UInt8>, _ at: Int, _ width: Int) -> [UInt8] {
        Array(header[(header.startIndex + at)..<(header.startIndex + at + width)].prefix { $0 != 0 })
    }

    /// pax records: `"<length> <key>=<value>\n"`, where the length is in decimal and counts the
    /// whole record, its own digits included. Values are bytes (they may hold anything but the
    /// policy checks names).
    static func paxRecords(_ payload: ArraySlice<UInt8>, of member: String) throws(TemplateArchiveError) -> [(String, [UInt8])] {
        var records: [(String, [UInt8])] = []
        var index = payload.startIndex
        let end = payload.endIndex
        // Trailing NUL padding inside the declared size is tolerated.
        while index < end, payload[index] != 0 {
            var cursor = index
            var length = 0
            var digits = 0
            while cursor < end, payload[cursor] >= 0x30, payload[cursor] <= 0x39 {
                digits += 1
                guard digits <= 9 else { throw TemplateArchiveError("\(member) has a pax record whose length is absurd") }
                length = length * 10 + Int(payload[cursor] - 0x30)
                cursor += 1
            }
            guard digits > 0, cursor < end, payload[cursor] == 0x20 else {
                throw TemplateArchiveError("\(member) has a malformed pax record")
            }
            guard length > cursor - index + 1, length <= end - index else {
                throw TemplateArchiveError("\(member) has a pax record whose length does not match its contents")
            }
            let recordEnd = index + length
            guard payload[recordEnd - 1] == 0x0A else {
                throw TemplateArchiveError("\(member) has a pax record that does not end with a newline")
            }
            let body = payload[(cursor + 1)..<(recordEnd - 1)]
            guard let equals = body.firstIndex(of: UInt8(ascii: "=")) else {
                throw TemplateArchiveError("\(member) has a pax record without '='")
            }
            records.append((String(decoding: body[..<equals], as: UTF8.self), Array(body[(equals + 1)...])))
            index = recordEnd
        }
        return records
    }
}

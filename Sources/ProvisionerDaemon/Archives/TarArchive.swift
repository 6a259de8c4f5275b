import Foundation

/// The echo provisioner's tar reading: one regular file out of a ustar/GNU tar archive (its
/// `manifest.json`). The archive is hostile input: a size that is negative, not octal, or past the
/// end stops the reading (nil) instead of looping or trapping. Extracting a whole template is
/// `TemplateArchive`'s job (pax and GNU long names, directories, links, limits).
///
/// Also the archive makers for tests and examples.
public enum TarArchive {
    public static func file(named wanted: String, in archive: [UInt8]) -> [UInt8]? {
        var offset = 0
        while offset <= archive.count - 512 {
            let header = archive[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { return nil }
            let name = string(header, 0, 100)
            let prefix = string(header, 345, 155)
            let sizeField = string(header, 124, 12).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
            guard !sizeField.isEmpty, sizeField.allSatisfy({ ("0"..."7").contains($0) }),
                  let size = Int(sizeField, radix: 8), size >= 0 else { return nil }
            let type = header[header.startIndex + 156]
            let fullName = prefix.isEmpty ? name : prefix + "/" + name
            let start = offset + 512
            guard size <= archive.count - start else { return nil }
            if (type == 0 || type == UInt8(ascii: "0")) && (fullName == wanted || fullName == "./" + wanted) {
                return Array(archive[start..<start + size])
            }
            offset = start + (size + 511) / 512 * 512
        }
        return nil
    }

    private static func string(_ block: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> String {
        let bytes = block[(block.startIndex + at)..<(block.startIndex + at + length)].prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A one-file archive, for tests and examples.
    public static func make(name: String, contents: [UInt8]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int) { for (i, b) in text.utf8.enumerated() { header[at + i] = b } }
        put(name, 0)
        put("0000644\0", 100)
        put("0000000\0", 108)
        put("0000000\0", 116)
        put(String(format: "%011o\0", contents.count), 124)
        put(String(format: "%011o\0", 0), 136)
        put("        ", 148)
        header[156] = UInt8(ascii: "0")
        put("ustar\0", 257)
        put("00", 263)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o\0 ", checksum), 148)
        var archive = header + contents
        archive += [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
        archive += [UInt8](repeating: 0, count: 1024)
        return archive
    }

    /// An archive of regular files (mode 0644) in the order given, for tests and examples. A name
    /// longer than the header's 100 bytes goes in a pax `path` record, as tar writes it.
    public static func make(files: [(name: String, contents: [UInt8])]) -> [UInt8] {
        var archive: [UInt8] = []
        for file in files {
            archive += entry(name: file.name, contents: file.contents)
        }
        return archive + [UInt8](repeating: 0, count: 1024)
    }

    /// One member: a pax header first when the name or link target does not fit the ustar
    /// fields, then the header and the contents padded to a whole block.
    static func entry(name: String, type: UInt8 = UInt8(ascii: "0"), mode: Int = 0o644, linkName: String = "", contents: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = []
        var records: [(String, [UInt8])] = []
        if name.utf8.count > 100 { records.append(("path", Array(name.utf8))) }
        if linkName.utf8.count > 100 { records.append(("linkpath", Array(linkName.utf8))) }
        if !records.isEmpty { out += paxEntry(records) }
        out += header(name: String(decoding: name.utf8.prefix(100), as: UTF8.self), type: type, mode: mode, size: contents.count,
                      linkName: String(decoding: linkName.utf8.prefix(100), as: UTF8.self))
        return out + padded(contents)
    }

    /// A pax extended header (`x`) carrying `records` for the member that follows it.
    static func paxEntry(_ records: [(String, [UInt8])], type: UInt8 = UInt8(ascii: "x")) -> [UInt8] {
        let payload = records.flatMap { paxRecord($0.0, $0.1) }
        return header(name: "PaxHeaders/entry", type: type, mode: 0o644, size: payload.count) + padded(payload)
    }

    /// `"<length> <key>=<value>\n"`, the length counting its own digits.
    static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let body = Array(" \(key)=".utf8) + value + [0x0A]
        var length = body.count + 1
        while String(length).utf8.count + body.count != length {
            length = String(length).utf8.count + body.count
        }
        return Array(String(length).utf8) + body
    }

    /// One 512-byte POSIX ustar header with a valid checksum.
    static func header(name: String, type: UInt8 = UInt8(ascii: "0"), mode: Int = 0o644, size: Int, linkName: String = "") -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put<Bytes: Sequence<UInt8>>(_ bytes: Bytes, _ at: Int, _ width: Int) {
            for (i, byte) in bytes.prefix(width).enumerated() { header[at + i] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.utf8.count)) + digits).utf8) + [0]
        }
        put(name.utf8, 0, 100)
        put(octal(mode, width: 8), 100, 8)
        put(octal(0, width: 8), 108, 8)
        put(octal(0, width: 8), 116, 8)
        put(octal(size, width: 12), 124, 12)
        put(octal(0, width: 12), 136, 12)
        header[156] = type
        put(linkName.utf8, 157, 100)
        put("ustar\0".utf8, 257, 6)
        put("00".utf8, 263, 2)
        return checksummed(header)
    }

    /// `header` with its checksum field recomputed: for tests that change a field on purpose.
    static func checksummed(_ header: [UInt8]) -> [UInt8] {
        var header = header
        for i in 148..<156 { header[i] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        let field = Array((String(repeating: "0", count: max(0, 6 - digits.utf8.count)) + digits).utf8) + [0, UInt8(ascii: " ")]
        for (i, byte) in field.prefix(8).enumerated() { header[148 + i] = byte }
        return header
    }

    /// `bytes` followed by zeros up to a whole number of 512-byte blocks.
    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
    }
}

import Foundation

/// Whether this process holds a listening TCP socket on `port`, asked of the kernel's tables
/// rather than by connecting: a child process that another test started while the socket was open
/// inherits it (NIO opens sockets without close-on-exec, and `ChildProcess` closes nothing it
/// hands down), so the port may go on taking connections after this process closed its socket.
func thisProcessListens(on port: Int) -> Bool {
    let listening = listeningSocketInodes(port: port)
    guard !listening.isEmpty else { return false }
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return descriptors.contains { descriptor in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)") else { return false }
        // A socket's link reads `socket:[<inode>]`.
        return target.hasPrefix("socket:[") && listening.contains(String(target.dropFirst("socket:[".count).dropLast()))
    }
}

/// Inodes of the sockets listening on `port`, from `/proc/net/tcp` and `tcp6`: fields are the slot,
/// the local address as hex `address:port`, the remote one, the state (`0A` is LISTEN), … and the inode, tenth.
private func listeningSocketInodes(port: Int) -> Set<String> {
    var inodes = Set<String>()
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = readToEnd(table) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A", let local = fields[1].split(separator: ":").last, Int(local, radix: 16) == port else { continue }
            inodes.insert(String(fields[9]))
        }
    }
    return inodes
}

/// The whole of a file read with one descriptor this function opens and closes itself, exactly
/// once: a /proc file reports size 0, so reads go on until end of file (with many sockets open the
/// table is longer than one read). Plain `open`/`read`/`close` rather than `FileHandle`, whose
/// explicit close and close-on-dealloc left it unclear who closes what: a descriptor closed twice
/// in this process closes whatever another test opened with that number in between.
private func readToEnd(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count >= 0 else { return nil }
        if count == 0 { return String(decoding: bytes, as: UTF8.self) }
        bytes += buffer[0..<count]
    }
}

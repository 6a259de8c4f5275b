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
        // Read to the end: a /proc file reports size 0, and with many sockets open (a full test
        // run) the table is longer than one read.
        guard let handle = FileHandle(forReadingAtPath: table), let data = try? handle.readToEnd() else { continue }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A", let local = fields[1].split(separator: ":").last, Int(local, radix: 16) == port else { continue }
            inodes.insert(String(fields[9]))
        }
    }
    return inodes
}

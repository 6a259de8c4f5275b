import Foundation

/// Marks every descriptor this process holds above standard error close-on-exec, so that the
/// child started next inherits none of them.
///
/// NIO opens sockets without close-on-exec and `ChildProcess` closes nothing it hands down, so a
/// child started while an in-process server of another test holds a connection would keep that
/// connection open after the server closed it: the client would see no end of stream until the
/// child exits (a server process may live for the rest of its test), and a listening socket would
/// go on taking connections for nobody. The test harness calls this before each child it starts;
/// a descriptor opened between the sweep and the spawn can still slip through, which only narrows
/// the window. Close-on-exec changes nothing for this process itself.
public func markDescriptorsCloseOnExec() {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
    for name in names {
        guard let descriptor = Int32(name), descriptor > 2 else { continue }
        let flags = fcntl(descriptor, F_GETFD)
        // Closed since the listing (EBADF), or already marked: nothing to do.
        guard flags >= 0, flags & FD_CLOEXEC == 0 else { continue }
        _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC)
    }
}

import Foundation
import Postgres
import Testing

/// A child inherits standard input, output and error and nothing else of this process: NIO's
/// sockets are not close-on-exec, and a child holding a server's connection would keep it open.
@Suite struct ChildProcessTests {
    @Test func aChildInheritsNoDescriptorAboveStandardError() throws {
        // Opened without O_CLOEXEC, as NIO opens its sockets.
        let held = open("/dev/null", O_RDONLY)
        try #require(held > 2)
        defer { close(held) }
        let (status, output) = try ChildProcess.run("/bin/sh", ["-c", "for f in /proc/$$/fd/*; do echo ${f##*/}; done"])
        #expect(status == 0, "\(output)")
        let inherited = Set(output.split(separator: "\n").compactMap { Int32($0) })
        #expect(inherited.contains(1), "the listing is not of the shell's own descriptors: \(output)")
        #expect(!inherited.contains(held), "descriptor \(held) reached the child: \(inherited.sorted())")
    }
}

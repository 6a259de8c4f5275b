import Foundation

/// A plain TCP connection to a server on loopback, for what an HTTP client library will not do:
/// send half a request, hold a connection open, read exactly what the server sent before closing.
public final class RawConnection: @unchecked Sendable {
    // @unchecked: used by one test at a time; the descriptor is closed once, in deinit or close().
    private var fd: Int32

    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            // Through close(), which forgets the number: a class whose initializer throws after
            // every property is set still runs deinit, and a second close of this number would
            // close whatever the process opened with it in between (a libpq socket, in one CI run).
            close()
            throw TestSetupError("cannot connect to 127.0.0.1:\(port): \(reason)")
        }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    public func send(_ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the server closes the connection (true), or until `timeout` passes with no byte
    /// arriving (false). A reset counts as closed.
    public func readUntilClosed(timeout: Int = 30) async -> (data: String, closed: Bool) {
        await offThePool { self.blockingReadUntilClosed(timeout: timeout) }
    }

    /// Reads one response whose body has a Content-Length (the connection stays open).
    public func readResponse(timeout: Int = 30) async -> RawResponse? {
        await offThePool { self.blockingReadResponse(timeout: timeout) }
    }

    private func blockingReadUntilClosed(timeout: Int) -> (data: String, closed: Bool) {
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else {
                return (String(decoding: received, as: UTF8.self), false)
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<n]
        }
    }

    private func blockingReadResponse(timeout: Int) -> RawResponse? {
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let response = RawResponse(parsing: received), response.isComplete { return response }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return nil }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return RawResponse(parsing: received) }
            received += buffer[0..<n]
        }
    }
}

/// Runs a blocking call on a thread of its own. A read that waits for a server to time out would
/// otherwise hold one of the cooperative pool's threads (two on two cores) for that long, and every
/// other test of the process, in-process servers' request handlers among them, would wait with it.
private func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// An HTTP/1.1 response as bytes came off the wire; header names lowercased.
public struct RawResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: String
    let isComplete: Bool

    public init?(parsing bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1)
            if pair.count == 2 { fields[pair[0].lowercased()] = pair[1].trimmingCharacters(in: .whitespaces) }
        }
        let body = String(text[split.upperBound...])
        headers = fields
        self.body = body
        isComplete = fields["content-length"].flatMap(Int.init).map { body.utf8.count >= $0 } ?? false
    }

    /// The body as a JSON object; throws `UnexpectedBody` if it is not one.
    public var json: [String: Any] { get throws { try bodyJSONObject(Data(body.utf8), status: status) } }

    public var message: String? { get throws { try json["message"] as? String } }
}

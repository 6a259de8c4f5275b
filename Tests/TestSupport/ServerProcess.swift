import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Postgres
import Synchronization

/// A real `coordinator` process, started from the binary `scripts/test` built. Output goes to a
/// log file that failing tests can print.
public final class CoordinatorProcess: Sendable {
    public let child: ChildProcess
    public let logPath: String
    public let arguments: [String]

    public static var binary: String {
        get throws {
            guard let path = ProcessInfo.processInfo.environment["COORDINATOR_BIN"], FileManager.default.isExecutableFile(atPath: path) else {
                throw TestSetupError("COORDINATOR_BIN is not set to the built coordinator: run the tests through scripts/test")
            }
            return path
        }
    }

    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        self.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        logPath = NSTemporaryDirectory() + "coordinator-\(UUID().uuidString.prefix(8)).log"
        child = try ChildProcess(executable: try Self.binary, arguments: arguments, environment: env, outputPath: logPath)
    }

    public var pid: Int32 { child.pid }
    public var isRunning: Bool { child.isRunning }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) { child.signal(signal) }

    /// Waits for the process to exit and returns its status.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        try await eventually("process \(pid) to exit", timeout: timeout) { !child.isRunning }
        return child.exitStatus ?? -1
    }

    deinit {
        if child.isRunning {
            child.signal(SIGCONT)
            child.signal(SIGKILL)
            _ = child.waitUntilExit()
        }
    }
}

/// A free TCP port on loopback, never the same twice in one test run.
///
/// Suites run in parallel, and a port is only free until somebody binds it: asking the kernel
/// (`bind` to port 0) can hand two suites the same port, and then one suite's requests reach the
/// other suite's server. So ports come from a counter below the kernel's ephemeral range (where
/// neither the kernel nor a client socket picks them), each checked to be bindable.
public func freePort() throws -> Int {
    for _ in 0..<1000 {
        let port = nextPort.withLock { next -> Int in
            defer { next = next >= 31_999 ? 20_000 : next + 1 }
            return next
        }
        if canBind(port) { return port }
    }
    throw TestSetupError("cannot find a free port")
}

private let nextPort = Mutex(20_000 + Int.random(in: 0..<10_000))

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// A small JSON-over-HTTP client for talking to real server processes. Its deadline is 30 s, not
/// a timing assertion: on this 2-core machine a full suite (real Terraform, server processes,
/// PostgreSQL) can leave a loopback request waiting past 10 s.
public struct HTTP: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let body: Data
        public var headers: HTTPHeaders = [:]
        /// The body as a JSON object; throws `UnexpectedBody` if it is not one.
        public var json: [String: Any] { get throws { try bodyJSONObject(body, status: status) } }
        /// The body as a JSON array of objects; throws `UnexpectedBody` if it is not one.
        public var jsonArray: [[String: Any]] { get throws { try bodyJSONArray(body, status: status) } }
    }

    public static let client = HTTPClient(eventLoopGroupProvider: .singleton)

    /// A request with a raw body (file uploads).
    public static func raw(_ method: HTTPMethod, _ url: String, body: [UInt8], contentType: String, token: String?) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Coder-Session-Token", value: token) }
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 16 << 20)
        return Response(status: Int(response.status.code), body: Data(data.readableBytesView))
    }

    public static func request(_ method: HTTPMethod, _ url: String, json: [String: Any]? = nil, token: String? = nil, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Coder-Session-Token", value: token) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Response(status: Int(response.status.code), body: Data(body.readableBytesView), headers: response.headers)
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Postgres

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

/// A free TCP port on loopback (bound and released; good enough for tests on one machine).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestSetupError("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A small JSON-over-HTTP client for talking to real server processes.
public struct HTTP: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let body: Data
        public var headers: HTTPHeaders = [:]
        public var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
        public var jsonArray: [[String: Any]] { ((try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]]) ?? [] }
    }

    public static let client = HTTPClient(eventLoopGroupProvider: .singleton)

    /// A request with a raw body (file uploads).
    public static func raw(_ method: HTTPMethod, _ url: String, body: [UInt8], contentType: String, token: String?) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Coder-Session-Token", value: token) }
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 16 << 20)
        return Response(status: Int(response.status.code), body: Data(data.readableBytesView))
    }

    public static func request(_ method: HTTPMethod, _ url: String, json: [String: Any]? = nil, token: String? = nil, headers: [(String, String)] = [], timeout: Duration = .seconds(10)) async throws -> Response {
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

import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

/// Several real `coordinator server` processes on one database.
final class ReplicaCluster: @unchecked Sendable {
    // @unchecked: mutated only by the test that owns it, one step at a time.
    struct Member: Sendable {
        let process: CoordinatorProcess
        let port: Int
        var base: String { "http://127.0.0.1:\(port)" }
    }

    let databaseURL: String
    var members: [Member] = []
    var token = ""

    init(databaseURL: String) {
        self.databaseURL = databaseURL
    }

    /// Starts a replica and waits until it answers. `relayPort` defaults to its own HTTP port.
    @discardableResult
    func start(relayPort: Int? = nil, extra: [String] = [], environment: [String: String] = [:]) async throws -> Member {
        let port = try freePort()
        let databaseURL = self.databaseURL
        // A few starts at a time across the whole run (see StartupGate).
        let member = try await StartupGate.shared.withStart {
            let process = try CoordinatorProcess([
                "server", "--postgres-url", databaseURL, "--http-address", "127.0.0.1:\(port)",
                "--relay-address", "http://127.0.0.1:\(relayPort ?? port)", "--heartbeat-interval", "500ms",
                "--log-level", "notice",
            ] + extra, environment: environment)
            let member = Member(process: process, port: port)
            do {
                try await eventually("replica on \(port) up", timeout: .seconds(90)) {
                    try await HTTP.request(.GET, "\(member.base)/api/v2/buildinfo", timeout: .seconds(5)).status == 200
                }
            } catch {
                throw TestSetupError("replica on \(port) did not answer: \(error); its log: \(process.log.suffix(1500))")
            }
            return member
        }
        members.append(member)
        return member
    }

    /// Creates the owner through the first replica (tokens work on every replica).
    func createOwner() async throws {
        let base = members[0].base
        let first = try await HTTP.request(.POST, "\(base)/api/v2/users/first", json: [
            "email": "owner@example.com", "username": "owner", "password": "Sup3r-Secret-Passw0rd!",
        ])
        #expect(first.status == 201)
        let login = try await HTTP.request(.POST, "\(base)/api/v2/users/login", json: ["email": "owner@example.com", "password": "Sup3r-Secret-Passw0rd!"])
        #expect(login.status == 201)
        token = try #require(try login.json["session_token"] as? String)
    }

    func replicas(at member: Member) async throws -> [[String: Any]] {
        let response = try await HTTP.request(.GET, "\(member.base)/api/v2/replicas", token: token, timeout: .seconds(5))
        guard response.status == 200 else { throw TestSetupError("GET /replicas: \(response.status)") }
        return try response.jsonArray
    }

    func replicaIDs(at member: Member) async throws -> Set<String> {
        Set(try await replicas(at: member).compactMap { $0["id"] as? String })
    }

    /// The id a replica reports for itself: the entry whose relay address is its own.
    func ownID(_ member: Member) async throws -> String {
        let me = try await replicas(at: member).first { ($0["relay_address"] as? String)?.hasSuffix(":\(member.port)") == true }
        return try #require(me?["id"] as? String)
    }

    func waitUntilAll(_ members: [Member], see ids: Set<String>, _ what: String, timeout: Duration = .seconds(30)) async throws {
        for member in members {
            try await eventually("\(what) on :\(member.port)", timeout: timeout) {
                try await replicaIDs(at: member) == ids
            }
        }
    }

    func logs() -> String {
        members.map { "---- :\($0.port)\n\($0.process.log.suffix(4000))" }.joined(separator: "\n")
    }
}

import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

/// Replicas of one coordinator on one database, started with `coordinator server`'s flags: in this
/// process (the default: cheap to start, hashing passwords at the test cost) or, where a test
/// signals a replica (SIGKILL, SIGSTOP, SIGTERM, SIGHUP), sets its environment or reads what it
/// prints or how it exits, as real processes of the built binary. Both kinds mix in one cluster.
///
/// A cluster lives inside `with`: every member is stopped before it returns, in-process ones
/// gracefully (nothing of a test may outlive it in this process), processes with SIGKILL.
final class ReplicaCluster: @unchecked Sendable {
    // @unchecked: mutated only by the test that owns it, one step at a time.

    enum Kind: Sendable, CustomStringConvertible {
        /// A `CoordinatorServer` in this process (`InProcessReplica`).
        case inProcess
        /// A `coordinator server` process (`CoordinatorProcess`).
        case process

        var description: String { self == .inProcess ? "in-process" : "process" }
    }

    struct Member: Sendable {
        enum Runner: Sendable {
            case inProcess(InProcessReplica)
            case process(CoordinatorProcess)
        }

        let port: Int
        let runner: Runner
        var base: String { "http://127.0.0.1:\(port)" }

        var kind: Kind {
            if case .process = runner { return .process }
            return .inProcess
        }

        /// The process of a member started with `.process`; a test that signals a replica or
        /// reads its output starts it so. Throws for an in-process member.
        var process: CoordinatorProcess {
            get throws {
                guard case .process(let process) = runner else {
                    throw TestSetupError("the replica on :\(port) runs in-process: start it with .process to signal it or read its output")
                }
                return process
            }
        }

        /// What it has logged: a process's log file, an in-process replica's captured lines.
        var log: String {
            switch runner {
            case .inProcess(let replica): replica.log.text
            case .process(let process): process.log
            }
        }

        /// Stops the replica gracefully (SIGTERM for a process) and returns once it has stopped;
        /// throws if it did not stop cleanly (a process's status is not 0, an in-process `run()` threw).
        func stop() async throws {
            switch runner {
            case .inProcess(let replica):
                try await replica.stop()
            case .process(let process):
                process.signal(SIGTERM)
                let status = try await process.waitForExit()
                guard status == 0 else { throw TestSetupError("the replica on :\(port) exited with \(status): \(process.log.suffix(2000))") }
            }
        }

        /// The end of its test: an in-process replica stops gracefully (errors are not the test's),
        /// a process that still runs is killed (continued first, should it be stopped).
        fileprivate func tearDown() async {
            switch runner {
            case .inProcess(let replica):
                try? await replica.stop()
            case .process(let process):
                guard process.isRunning else { return }
                process.signal(SIGCONT)
                process.signal(SIGKILL)
            }
        }
    }

    let databaseURL: String
    private(set) var members: [Member] = []
    var token = ""

    private init(databaseURL: String) {
        self.databaseURL = databaseURL
    }

    /// Runs `body` with an empty cluster on `databaseURL` and stops every member it started once
    /// `body` returns or throws.
    static func with(databaseURL: String, _ body: (ReplicaCluster) async throws -> Void) async throws {
        let cluster = ReplicaCluster(databaseURL: databaseURL)
        do {
            try await body(cluster)
        } catch {
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }

    private func tearDown() async {
        await withTaskGroup(of: Void.self) { group in
            for member in members { group.addTask { await member.tearDown() } }
        }
    }

    /// Starts a replica and returns once it answers. The flags are the cluster's (its database,
    /// `127.0.0.1:port`, the relay address, a 500ms heartbeat, notice logs) then `extra`, which
    /// win. `port` defaults to a fresh one and `relayPort` to the HTTP port: a replica's relay
    /// address is how `ownID` finds it, and with the default access URL (`http://127.0.0.1:port`)
    /// it must be known before the replica starts, so an in-process replica binds a chosen port too.
    /// `environment` is a process's only.
    @discardableResult
    func start(_ kind: Kind = .inProcess, port requestedPort: Int? = nil, relayPort: Int? = nil, extra: [String] = [], environment: [String: String] = [:]) async throws -> Member {
        let port = try requestedPort ?? freePort()
        let flags = [
            "--postgres-url", databaseURL, "--http-address", "127.0.0.1:\(port)",
            "--relay-address", "http://127.0.0.1:\(relayPort ?? port)", "--heartbeat-interval", "500ms",
            "--log-level", "notice",
        ] + extra
        let member: Member
        switch kind {
        case .inProcess:
            guard environment.isEmpty else { throw TestSetupError("environment variables are a process's: start the replica with .process") }
            let replica = try await InProcessReplica.start(flags)
            member = Member(port: port, runner: .inProcess(replica))
            // Appended before it answers, so that a failure below still stops it.
            members.append(member)
            // It serves once `start` returns: what follows is the same check as for a process.
            try await answers(member)
        case .process:
            // A few starts at a time across the whole run (see StartupGate); a process that does
            // not answer is killed as its `CoordinatorProcess` goes away.
            member = try await StartupGate.shared.withStart {
                let process = try CoordinatorProcess(["server"] + flags, environment: environment)
                let started = Member(port: port, runner: .process(process))
                try await self.answers(started)
                return started
            }
            members.append(member)
        }
        return member
    }

    private func answers(_ member: Member) async throws {
        do {
            try await eventually("replica on \(member.port) up", timeout: .seconds(90)) {
                try await HTTP.request(.GET, "\(member.base)/api/v2/buildinfo", timeout: .seconds(5)).status == 200
            }
        } catch {
            throw TestSetupError("replica on \(member.port) (\(member.kind)) did not answer: \(error); its log: \(member.log.suffix(1500))")
        }
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
        members.map { "---- :\($0.port) (\($0.kind))\n\($0.log.suffix(4000))" }.joined(separator: "\n")
    }
}

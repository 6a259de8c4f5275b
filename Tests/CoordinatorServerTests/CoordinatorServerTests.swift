import CoordinatorServer
import Foundation
import NIOCore
import NIOHTTP1
import Postgres
import TestSupport
import Testing

/// The whole server started in this process on a throwaway database, talked to over real HTTP.
@Suite struct CoordinatorServerTests {
    /// Requests wait as long as they must: an in-process server answers on this process's
    /// cooperative threads, which the rest of the suite keeps busy (hashing passwords, among much
    /// else); what is asserted is the answer, never how soon it came.
    func request(_ method: HTTPMethod, _ url: String, json: [String: Any]? = nil, token: String? = nil) async throws -> HTTP.Response {
        try await HTTP.request(method, url, json: json, token: token, timeout: .seconds(600))
    }

    @Test func servesItsConfigurationAndItsReplicaThenStopsGracefully() async throws {
        let db = try await TestDatabase.create()
        var configuration = InProcessServer.configuration(databaseURL: db.url)
        configuration.accessURL = "https://coder.example.com"
        configuration.replica.regionID = 7
        let server = try await InProcessServer.start(configuration)
        #expect(thisProcessListens(on: server.port))

        let info = try await request(.GET, "\(server.base)/api/v2/buildinfo")
        #expect(info.status == 200)
        #expect(try info.json["version"] as? String == "test")
        #expect(try info.json["external_url"] as? String == "https://coder.example.com")

        // It migrated the new database: the first user can be created, and is an owner.
        let first = try await request(.POST, "\(server.base)/api/v2/users/first", json: [
            "email": "owner@example.com", "username": "owner", "password": "Sup3r-Secret-Passw0rd!",
        ])
        #expect(first.status == 201)
        let login = try await request(.POST, "\(server.base)/api/v2/users/login", json: ["email": "owner@example.com", "password": "Sup3r-Secret-Passw0rd!"])
        #expect(login.status == 201)
        let token = try #require(try login.json["session_token"] as? String)
        let id = configuration.replica.id.uuidString.lowercased()
        // Membership starts after HTTP: the replica appears once it registered.
        var replica: [String: Any] = [:]
        try await eventually("the replica listed", timeout: .seconds(600)) {
            let replicas = try await request(.GET, "\(server.base)/api/v2/replicas", token: token)
            guard replicas.status == 200 else { return false }
            replica = try replicas.jsonArray.first { $0["id"] as? String == id } ?? [:]
            return !replica.isEmpty
        }
        #expect(replica["hostname"] as? String == "in-process")
        #expect(replica["region_id"] as? Int == 7)
        #expect(replica["version"] as? String == "test")

        try await server.stop()
        // Shutdown deregistered the replica before pubsub and the database went away.
        let stopped = try await withPool(.init(connectionString: db.url, maximumConnections: 1)) { pool in
            try await pool.query("SELECT stopped_at IS NOT NULL FROM replicas WHERE id = $1", [configuration.replica.id]).first?.decode(0, as: Bool.self)
        }
        #expect(stopped == true)
        #expect(!thisProcessListens(on: server.port))
    }

    @Test func cancellingRunStopsTheServer() async throws {
        let db = try await TestDatabase.createMigrated()
        let (addresses, serving) = AsyncStream.makeStream(of: SocketAddress.self)
        let server = CoordinatorServer(
            configuration: InProcessServer.configuration(databaseURL: db.url), logger: InProcessServer.logger,
            onServing: { serving.yield($0) }
        )
        let running = Task { try await server.run() }
        var iterator = addresses.makeAsyncIterator()
        let port = try #require(await iterator.next()?.port)
        #expect(try await request(.GET, "http://127.0.0.1:\(port)/healthz").status == 200)
        #expect(thisProcessListens(on: port))
        running.cancel()
        // A stop, not a failure: run() returns once everything is down.
        try await running.value
        #expect(!thisProcessListens(on: port))
    }

    @Test func aDatabaseThatDoesNotExistFailsAtOnceWithOneLine() async throws {
        let serverURL = try TestDatabase.serverURL
        let url = serverURL[..<serverURL.lastIndex(of: "/")!] + "/no_such_database"
        var configuration = InProcessServer.configuration(databaseURL: String(url))
        // Were it retried, the message would say "within 1ms (1 attempts)": this one says it was not.
        configuration.database.connectTimeout = .milliseconds(1)
        let error = try await #require(throws: StartupError.self) {
            try await CoordinatorServer(configuration: configuration, logger: InProcessServer.logger).run()
        }
        #expect(error.description.hasPrefix("cannot connect to the database: "))
        #expect(error.description.contains("no_such_database"))
        #expect(!error.description.contains("\n"))
    }

    @Test func aPortInUseStopsTheSecondServerWithOneLine() async throws {
        let db = try await TestDatabase.createMigrated()
        let first = try await InProcessServer.start(InProcessServer.configuration(databaseURL: db.url))
        var configuration = InProcessServer.configuration(databaseURL: db.url)
        configuration.port = first.port
        let error = try await #require(throws: StartupError.self) {
            try await CoordinatorServer(configuration: configuration, logger: InProcessServer.logger).run()
        }
        #expect(error.description.contains("Address already in use"))
        #expect(!error.description.contains("\n"))
        // The first one is unharmed.
        #expect(try await request(.GET, "\(first.base)/healthz").status == 200)
        try await first.stop()
    }
}

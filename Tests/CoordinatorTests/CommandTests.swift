import AsyncHTTPClient
import Foundation
import Postgres
import TestSupport
import Testing

@Suite(.serialized) struct CommandTests {
    @Test func concurrentMigrateProcessesApplyEachMigrationOnce() async throws {
        let db = try await TestDatabase.create()
        let processes = try (0..<3).map { _ in try CoordinatorProcess(["migrate", "up", "--postgres-url", db.url]) }
        for process in processes {
            let status = try await process.waitForExit()
            #expect(status == 0, "migrate exited \(status): \(process.log)")
        }
        let pool = DatabasePool(.init(connectionString: db.url, maximumConnections: 1))
        let rows = try await pool.query("SELECT version, count(*) OVER (PARTITION BY version) FROM schema_migrations").rows
        #expect(!rows.isEmpty)
        #expect(try rows.allSatisfy { try $0.decode(1, as: Int.self) == 1 })
        await pool.close()

        let status = try CoordinatorProcess(["migrate", "status", "--postgres-url", db.url])
        #expect(try await status.waitForExit() == 0)
        #expect(status.log.contains("0001  identity"))
        #expect(status.log.contains("applied"))
        #expect(!status.log.contains("pending"))
    }

    @Test func aWrongDatabaseURLFailsFastWithOneLineNamingTheHost() async throws {
        let port = try freePort()
        let process = try CoordinatorProcess([
            "server", "--postgres-url", "postgresql://nobody@127.0.0.1:\(port)/none", "--http-address", "127.0.0.1:\(try freePort())",
            // Connection refused is worth waiting for (the database may be restarting): briefly, here.
            "--postgres-connect-timeout", "1s",
        ])
        let status = try await process.waitForExit(timeout: .seconds(30))
        #expect(status == 1)
        let lines = process.log.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1)
        #expect(lines.first?.contains("127.0.0.1") == true)
        #expect(lines.first?.contains("\(port)") == true)
    }

    @Test func serverOnTheEmbeddedDatabaseServesAndStopsCleanly() async throws {
        let dataDir = "/tmp/coord-serve-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let port = try freePort()
        let base = "http://127.0.0.1:\(port)"
        let server = try CoordinatorProcess(["server", "--data-dir", dataDir, "--http-address", "127.0.0.1:\(port)"], environment: ["CODER_PG_CONNECTION_URL": ""])
        try await eventually("server up", timeout: .seconds(90)) {
            try await HTTP.request(.GET, "\(base)/healthz").status == 200
        }
        #expect(try await HTTP.request(.GET, "\(base)/api/v2/users/first").status == 404)
        let first = try await HTTP.request(.POST, "\(base)/api/v2/users/first", json: [
            "email": "admin@example.com", "username": "admin", "password": "Ch4nge-Me-Now!",
        ])
        #expect(first.status == 201)
        let login = try await HTTP.request(.POST, "\(base)/api/v2/users/login", json: ["email": "admin@example.com", "password": "Ch4nge-Me-Now!"])
        #expect(login.status == 201)
        let token = try #require(try login.json["session_token"] as? String)
        let me = try await HTTP.request(.GET, "\(base)/api/v2/users/me", token: token)
        #expect(me.status == 200)
        #expect(try me.json["username"] as? String == "admin")

        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.log)")
        // The embedded cluster stopped with it.
        #expect(!FileManager.default.fileExists(atPath: "\(dataDir)/postgres/postmaster.pid"))
        #expect(FileManager.default.fileExists(atPath: "\(dataDir)/postgres/PG_VERSION"))
    }
}

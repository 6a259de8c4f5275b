import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct EmbeddedPostgresTests {
    @Test func startsStopsAndRestartsAClusterInItsDataDirectory() async throws {
        let dataDir = "/tmp/coord-embed-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let embedded = try EmbeddedPostgres(dataDirectory: dataDir)
        try embedded.start()
        #expect(FileManager.default.fileExists(atPath: "\(dataDir)/postgres/PG_VERSION"))
        #expect(FileManager.default.fileExists(atPath: "\(dataDir)/postgres/.s.PGSQL.5432"))

        let pool = DatabasePool(.init(connectionString: embedded.connectionString))
        try await pool.query("CREATE TABLE kept (v text)")
        try await pool.query("INSERT INTO kept VALUES ($1)", ["survives a restart"])
        // No TCP port is taken.
        let listen = try await pool.query("SHOW listen_addresses").first?.decode(0, as: String.self)
        #expect(listen == "")
        await pool.close()

        try embedded.stop()
        #expect(!embedded.isRunning())
        #expect(!FileManager.default.fileExists(atPath: "\(dataDir)/postgres/.s.PGSQL.5432"))

        // Second start reuses the cluster (no initdb) and keeps the data.
        try embedded.start()
        let again = DatabasePool(.init(connectionString: embedded.connectionString))
        #expect(try await again.query("SELECT v FROM kept").first?.decode(0, as: String.self) == "survives a restart")
        await again.close()
        try embedded.stop()
    }
}

@Suite struct EmbeddedPostgresSecurityTests {
    @Test func loginsNeedThePasswordAndTheServerInheritsNoSecrets() async throws {
        let dataDir = "/tmp/coord-embsec-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        // A secret in our environment, as a server's PSK or database URL would be.
        let canary = "canary-\(UUID().uuidString)"
        setenv("COORDINATOR_TEST_SCRUB_CANARY", canary, 1)
        defer { unsetenv("COORDINATOR_TEST_SCRUB_CANARY") }
        let embedded = try EmbeddedPostgres(dataDirectory: dataDir)
        try embedded.start()
        defer { try? embedded.stop() }

        let hba = try String(contentsOfFile: "\(dataDir)/postgres/pg_hba.conf", encoding: .utf8)
        let rules = hba.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(!rules.isEmpty)
        #expect(rules.allSatisfy { !$0.split(whereSeparator: \.isWhitespace).contains("trust") }, "\(rules)")
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(dataDir)/postgres-password")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let withoutPassword = DatabasePool(.init(connectionString: "host='\(dataDir)/postgres' port=5432 user=coordinator dbname=coordinator", maximumConnections: 1))
        await #expect(throws: PostgresError.self) { try await withoutPassword.query("SELECT 1") }
        await withoutPassword.close()
        let pool = DatabasePool(.init(connectionString: embedded.connectionString, maximumConnections: 1))
        #expect(try await pool.query("SELECT 1").first?.decode(0, as: Int.self) == 1)
        await pool.close()

        let pidLine = try String(contentsOfFile: "\(dataDir)/postgres/postmaster.pid", encoding: .utf8).split(separator: "\n").first
        let pid = try #require(pidLine.map(String.init))
        let environ = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/environ"))
        #expect(!String(decoding: environ, as: UTF8.self).contains(canary))
    }
}

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

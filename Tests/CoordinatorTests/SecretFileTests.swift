import Foundation
import TestSupport
import Testing

/// Secrets given as files instead of flags, which every local user can read in `ps`.
@Suite(.serialized) struct SecretFileTests {
    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "coord-secret-\(UUID().uuidString.prefix(8))"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theDatabaseURLAndThePSKComeFromFilesOnBothSides() async throws {
        let db = try await TestDatabase.createMigrated()
        let psk = "psk-\(UUID().uuidString)"
        let urlFile = try write(db.url + "\n")
        let pskFile = try write(psk + "\n")
        defer { for path in [urlFile, pskFile] { unlink(path) } }
        let port = try freePort()
        let base = "http://127.0.0.1:\(port)"
        let server = try CoordinatorProcess([
            "server", "--postgres-url-file", urlFile, "--provisioner-daemon-psk-file", pskFile, "--http-address", "127.0.0.1:\(port)",
        ], environment: ["CODER_PG_CONNECTION_URL": ""])
        try await eventually("server healthy", timeout: .seconds(60)) {
            try await HTTP.request(.GET, "\(base)/healthz").status == 200
        }
        #expect(!server.arguments.contains(psk))
        let first = try await HTTP.request(.POST, "\(base)/api/v2/users/first", json: [
            "email": "owner@example.com", "username": "owner", "password": "Sup3r-Secret-Passw0rd!",
        ])
        #expect(first.status == 201)
        let login = try await HTTP.request(.POST, "\(base)/api/v2/users/login", json: ["email": "owner@example.com", "password": "Sup3r-Secret-Passw0rd!"])
        #expect(login.status == 201)
        let token = try #require(try login.json["session_token"] as? String)
        let organization = try #require(try first.json["organization_id"] as? String)

        // The key without its newline is the one the server holds: a daemon reading the same file gets in.
        let daemon = try CoordinatorProcess(["provisionerd", "start", "--url", base, "--psk-file", pskFile, "--name", "from-file"])
        defer { daemon.signal(SIGKILL) }
        try await eventually("the daemon registered", timeout: .seconds(30)) {
            let daemons = try await HTTP.request(.GET, "\(base)/api/v2/organizations/\(organization)/provisionerdaemons", token: token)
            guard daemons.status == 200 else { return false }
            return try daemons.jsonArray.contains { $0["name"] as? String == "from-file" }
        }
        server.signal(SIGTERM)
        _ = try await server.waitForExit()
    }

    @Test func aSecretGivenBothWaysIsRefused() async throws {
        let pskFile = try write("from-file")
        defer { unlink(pskFile) }
        let server = try CoordinatorProcess([
            "server", "--postgres-url", "postgresql://nobody@127.0.0.1:1/none", "--provisioner-daemon-psk", "inline",
            "--provisioner-daemon-psk-file", pskFile, "--http-address", "127.0.0.1:\(try freePort())",
        ])
        #expect(try await server.waitForExit() != 0)
        #expect(server.log.contains("give either --provisioner-daemon-psk or --provisioner-daemon-psk-file, not both"), "\(server.log)")
    }
}

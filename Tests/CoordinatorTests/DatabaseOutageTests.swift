import Foundation
import TestSupport
import Testing

/// A replica whose PostgreSQL goes away, or is not there yet when it starts.
@Suite(.serialized) struct DatabaseOutageTests {
    func startServer(_ databaseURL: String, extra: [String] = []) throws -> (CoordinatorProcess, String) {
        let port = try freePort()
        let server = try CoordinatorProcess(["server", "--postgres-url", databaseURL, "--http-address", "127.0.0.1:\(port)"] + extra)
        return (server, "http://127.0.0.1:\(port)")
    }

    /// Nothing a client sees names the database's host, port or SQLSTATE, or quotes libpq.
    func expectScrubbed(_ body: String, _ postgres: ThrowawayPostgres, _ what: String) {
        for secret in ["127.0.0.1", "\(postgres.port)", "SQLSTATE", "connection to server", "postgres", "refused"] {
            #expect(!body.contains(secret), "\(what) reveals \"\(secret)\": \(body)")
        }
    }

    @Test func withTheDatabaseStoppedLoginIs503WithOnlyARequestID() async throws {
        let postgres = try await ThrowawayPostgres()
        try await postgres.start()
        let (server, base) = try startServer(postgres.url(), extra: ["--log-level", "notice"])
        try await eventually("server healthy", timeout: .seconds(60)) {
            try await HTTP.request(.GET, "\(base)/healthz").status == 200
        }
        try await postgres.stop()

        let login = try await HTTP.request(.POST, "\(base)/api/v2/users/login", json: ["email": "a@example.com", "password": "Wh4tever-Passw0rd!"])
        #expect(login.status == 503)
        #expect(try login.json["message"] as? String == "The database is unavailable.")
        let requestID = try #require(try login.json["detail"] as? String)
        #expect(!requestID.isEmpty)
        #expect(login.headers.first(name: "X-Request-Id") == requestID)
        expectScrubbed(String(decoding: login.body, as: UTF8.self), postgres, "login")
        // The operator finds the real error under the same id.
        do {
            try await eventually("the failure logged with its request id") {
                server.log.split(separator: "\n").contains { $0.contains(requestID) && $0.contains("127.0.0.1") }
            }
        } catch {
            Issue.record("\(error): \(server.log.suffix(3000))")
        }

        let health = try await HTTP.request(.GET, "\(base)/healthz")
        #expect(health.status == 503)
        #expect(try health.json["message"] as? String == "database unreachable")
        expectScrubbed(String(decoding: health.body, as: UTF8.self), postgres, "healthz")

        // A WebSocket upgrade that needs the database to authenticate is refused the same way.
        let upgrade = try await RawHTTP.upgrade(port: Int(base.split(separator: ":").last!)!, path: "/api/v2/workspacebuilds/\(UUID())/logs?follow=true", headers: [
            ("Coder-Session-Token", "abcdefghij-abcdefghijklmnopqrstuv"),
        ])
        #expect(upgrade.status == 503)
        #expect(try upgrade.message == "The database is unavailable.")
        #expect(try upgrade.json["detail"] as? String == upgrade.headers["x-request-id"])
        #expect(upgrade.headers["x-request-id"]?.isEmpty == false)
        expectScrubbed(upgrade.body, postgres, "the refused upgrade")

        // Back up: the same replica serves again, no restart needed.
        try await postgres.start()
        try await eventually("healthy again", timeout: .seconds(60)) {
            try await HTTP.request(.GET, "\(base)/healthz").status == 200
        }
        server.signal(SIGTERM)
        _ = try await server.waitForExit()
    }

    @Test func aServerStartedBeforeItsDatabaseWaitsForIt() async throws {
        let databasePort = try freePort()
        let postgres = try await ThrowawayPostgres(port: databasePort)
        let (server, base) = try startServer(postgres.url(), extra: ["--postgres-connect-timeout", "5m"])
        try await eventually("a retry logged", timeout: .seconds(60)) { server.log.contains("database unreachable; retrying") }
        #expect(server.isRunning, "\(server.log)")
        try await postgres.start()
        try await eventually("server healthy", timeout: .seconds(90)) {
            try await HTTP.request(.GET, "\(base)/healthz").status == 200
        }
        #expect(server.log.contains("connected to the database"))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.log)")
    }

    @Test func refusedCredentialsStopTheServerAtOnce() async throws {
        let postgres = try await ThrowawayPostgres(password: "the-right-one")
        try await postgres.start()
        // A connect timeout far beyond the exit wait: exiting in time shows it did not retry.
        let (server, _) = try startServer(postgres.url(password: "a-wrong-one"), extra: ["--postgres-connect-timeout", "10m"])
        let status = try await server.waitForExit(timeout: .seconds(120))
        #expect(status == 1)
        let errors = server.log.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1, "\(server.log)")
        #expect(errors.first?.contains("password authentication failed") == true, "\(server.log)")
        #expect(!server.log.contains("retrying"))
    }

    /// Whether this machine's resolver answers (a name that does not exist is refused, not
    /// "try again"): with DNS itself down, a server that waits for its database is right.
    static let resolverAnswers: Bool = {
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo("no-such-host.invalid", "5432", nil, &result)
        if result != nil { freeaddrinfo(result) }
        return status != EAI_AGAIN
    }()

    @Test(.enabled(if: resolverAnswers, "the resolver does not answer here (EAI_AGAIN): an unknown host cannot be told from DNS being down"))
    func anUnknownHostNameStopsTheServerAtOnce() async throws {
        let (server, _) = try startServer("postgresql://postgres@no-such-host.invalid:5432/postgres", extra: ["--postgres-connect-timeout", "10m"])
        #expect(try await server.waitForExit(timeout: .seconds(120)) == 1)
        #expect(server.log.contains("could not translate host name"), "\(server.log)")
        #expect(!server.log.contains("retrying"))
    }
}

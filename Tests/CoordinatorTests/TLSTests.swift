import Foundation
import TestSupport
import Testing

/// HTTPS on the replica itself: a daemon over wss:// with the server's certificate as its only
/// extra trust, and SIGHUP putting a new certificate in front of new connections. The replica is a
/// process (SIGHUP, its log read); the daemon runs in this process.
@Suite(.serialized) struct TLSTests {
    /// A self-signed P-256 certificate for 127.0.0.1 and localhost, written as `name`.pem and
    /// `name`.key in `dir`.
    static func makeCertificate(_ dir: String, _ name: String) async throws -> (certificate: String, key: String) {
        let (certificate, key) = ("\(dir)/\(name).pem", "\(dir)/\(name).key")
        let made = try await ToolRun.run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=coordinator-\(name)", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", key, "-out", certificate,
        ])
        guard made.status == 0 else { throw TestSetupError("openssl: \(made.output)") }
        return (certificate, key)
    }

    /// Whether an HTTPS request to `/healthz` verifies against `trusting` alone.
    static func verifies(port: Int, trusting certificate: String) async throws -> Bool {
        let run = try await ToolRun.run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "--cacert", certificate, "https://127.0.0.1:\(port)/healthz"])
        return run.status == 0 && run.output == "200"
    }

    @Test func aDaemonRunsJobsOverTLSAndSIGHUPSwapsTheCertificate() async throws {
        let dir = NSTemporaryDirectory() + "tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try await Self.makeCertificate(dir, "first")
        let served = (certificate: "\(dir)/served.pem", key: "\(dir)/served.key")
        try FileManager.default.copyItem(atPath: first.certificate, toPath: served.certificate)
        try FileManager.default.copyItem(atPath: first.key, toPath: served.key)

        let provisioning = ProvisionerTests()
        let tlsPort = try freePort()
        try await provisioning.withSetUp([.process], extra: [
            "--tls-address", "127.0.0.1:\(tlsPort)", "--tls-cert-file", served.certificate, "--tls-key-file", served.key,
        ]) { setup in
            let a = setup.cluster.members[0]
            try await eventually("HTTPS answers with the first certificate") { try await Self.verifies(port: tlsPort, trusting: first.certificate) }

            // A daemon that reaches the replica over HTTPS only, trusting the first certificate.
            try await InProcessDaemon.with([
                "--psk", ProvisionerTests.psk, "--name", "d-tls",
                "--url", "https://127.0.0.1:\(tlsPort)", "--tls-ca-file", first.certificate,
            ]) { _ in
                let versionID = try await provisioning.postImport(setup, through: a, manifest: ["resources": [["name": "dev", "type": "vm", "daily_cost": 1]]])
                try await eventually("the job ran on the wss:// daemon", timeout: .seconds(30)) {
                    try await provisioning.job(setup, versionID, at: a)["status"] as? String == "succeeded"
                }

                // A new certificate in place, then SIGHUP: new connections see it, the daemon's
                // connection (made before) carries on.
                let second = try await Self.makeCertificate(dir, "second")
                #expect(try await !Self.verifies(port: tlsPort, trusting: second.certificate))
                try FileManager.default.removeItem(atPath: served.certificate)
                try FileManager.default.removeItem(atPath: served.key)
                try FileManager.default.copyItem(atPath: second.certificate, toPath: served.certificate)
                try FileManager.default.copyItem(atPath: second.key, toPath: served.key)
                try a.process.signal(SIGHUP)
                try await eventually("HTTPS answers with the second certificate") { try await Self.verifies(port: tlsPort, trusting: second.certificate) }
                #expect(try await !Self.verifies(port: tlsPort, trusting: first.certificate))
                #expect(try a.process.log.contains("reloaded the TLS certificate"))
                let again = try await provisioning.postImport(setup, through: a, manifest: ["resources": [["name": "dev", "type": "vm", "daily_cost": 1]]])
                try await eventually("the daemon's connection outlived the reload", timeout: .seconds(30)) {
                    try await provisioning.job(setup, again, at: a)["status"] as? String == "succeeded"
                }

                // A broken file at the next reload keeps the certificate being served.
                try "not a certificate".write(toFile: served.certificate, atomically: true, encoding: .utf8)
                try a.process.signal(SIGHUP)
                try await eventually("the failed reload is logged") { try a.process.log.contains("reloading the TLS certificate failed") }
                #expect(try await Self.verifies(port: tlsPort, trusting: second.certificate))
            }
        }
    }

    @Test func aMissingKeyStopsTheServerNamingTheFlags() async throws {
        let db = try await TestDatabase.create()
        let server = try CoordinatorProcess([
            "server", "--postgres-url", db.url, "--http-address", "127.0.0.1:\(try freePort())", "--tls-cert-file", "/nonexistent.pem",
        ])
        #expect(try await server.waitForExit() != 0)
        #expect(server.log.contains("TLS needs both --tls-cert-file and --tls-key-file"), "\(server.log)")
    }
}

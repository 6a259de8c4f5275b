import NIOCore
import NIOSSL
import Testing
@testable import WebSocket

/// A self-signed certificate for localhost and 127.0.0.1, valid until 2126, for tests only.
enum TestCertificate {
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBmzCCAUGgAwIBAgIUdl9Ol/SY8PMPu8Jz50CnVWTd0wAwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyOTAyMDgyMFoYDzIxMjYxMTA1
        MDIwODIwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAARw0euNm7G0TU6K0PMHK00qQtXfKQq/IqIwHeYM+Hqf5kd0+zw0CIW/
        vp0yHS7Cri3tgdJUohZqUgyqn/2lTF/yo28wbTAdBgNVHQ4EFgQUaUEFl4EMwRlD
        INmJEf5JbUEN5eEwHwYDVR0jBBgwFoAUaUEFl4EMwRlDINmJEf5JbUEN5eEwDwYD
        VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
        zj0EAwIDSAAwRQIgF7N7+5/pGuiKQmHBlIGWFLqClNMII2XGnIDHcoPD3KICIQCY
        gZA5s09TFcyvuMGdt1Sbeu9/1WJV6xiSv1J+lreglw==
        -----END CERTIFICATE-----
        """
    static let privateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgo9rCAp6J6uDbyPrm
        ARJQKpEJ+fIcRLyqxeE7iKrr9dWhRANCAARw0euNm7G0TU6K0PMHK00qQtXfKQq/
        IqIwHeYM+Hqf5kd0+zw0CIW/vp0yHS7Cri3tgdJUohZqUgyqn/2lTF/y
        -----END PRIVATE KEY-----
        """

    static func server() throws -> TLSConfiguration {
        let certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
    }

    static func trustingClient() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)])
        return configuration
    }
}

@Suite(.serialized) struct TLSTests {
    @Test func wssEchoesOverTLS() async throws {
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, tlsConfiguration: try TestCertificate.server())
        let serving = Task {
            try await server.run { connection in
                _ = try? await TestServer.echo(connection)
            }
        }
        let port = server.port!
        let reply = try await withTimeout {
            let client = try await WebSocketClient.connect(
                to: "wss://localhost:\(port)/secure", tlsConfiguration: try TestCertificate.trustingClient()
            )
            return try await client.run { inbound, outbound in
                try await outbound.send(text: "over tls")
                var iterator = inbound.makeAsyncIterator()
                return try await iterator.next()
            }
        }
        #expect(reply == .text("over tls"))
        try await server.close()
        _ = try? await serving.value
    }

    @Test func untrustedCertificateIsRefused() async throws {
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, tlsConfiguration: try TestCertificate.server())
        let serving = Task {
            try await server.run { connection in
                _ = try? await TestServer.echo(connection)
            }
        }
        let port = server.port!
        await #expect(throws: NIOSSLError.self) {
            _ = try await withTimeout {
                try await WebSocketClient.connect(to: "wss://localhost:\(port)/secure")
            }
        }
        try await server.close()
        _ = try? await serving.value
    }
}

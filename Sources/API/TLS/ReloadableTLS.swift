import NIOConcurrencyHelpers
import NIOSSL

/// The server's TLS context, read from a PEM certificate chain and key, and replaced by
/// `reload()` (on SIGHUP): connections accepted after a reload present the new certificate,
/// open ones keep the one they started with. A reload that fails keeps the old context.
public final class ReloadableTLS: Sendable {
    public let certificateFile: String
    public let keyFile: String
    private let context: NIOLockedValueBox<NIOSSLContext>

    public init(certificateFile: String, keyFile: String) throws {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        context = NIOLockedValueBox(try Self.load(certificateFile: certificateFile, keyFile: keyFile))
    }

    public func reload() throws {
        let fresh = try Self.load(certificateFile: certificateFile, keyFile: keyFile)
        context.withLockedValue { $0 = fresh }
    }

    var current: NIOSSLContext { context.withLockedValue { $0 } }

    private static func load(certificateFile: String, keyFile: String) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        guard !chain.isEmpty else { throw TLSFileError("\(certificateFile) holds no PEM certificate") }
        let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}

public struct TLSFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

import API
import Crypto
import Foundation
import Licensing
import Store

extension CoordinatorServer {
    /// The deployment's identity (made on its first start), the key ring with its trial key,
    /// and entitlements and appearance computed once: a replica does not serve before it knows
    /// what is licensed.
    func makeLicensing(database: Database) async throws -> LicensingServices {
        let store = database.store
        let identity = try await store.deploymentIdentity { LicenseSigningKey.generate().rawRepresentation }
        let trialKey = try Curve25519.Signing.PrivateKey(rawRepresentation: identity.trialSigningKey)
        let trialKeyID = "trial-\(identity.id.uuidString.lowercased())"
        var keyRing = configuration.licensing.keyRing
        keyRing.add(kid: trialKeyID, publicKey: trialKey.publicKey, trialOnly: true)

        let entitlements = LiveEntitlements(
            configuration: .init(
                enablements: configuration.licensing.enablements(relayAddress: configuration.replica.relayAddress, scimConfigured: configuration.scimKey != nil),
                haGrace: TimeInterval(seconds: configuration.licensing.haGrace)
            ),
            verifier: LicenseVerifier(keyRing: keyRing), store: store, logger: logger
        )
        try await entitlements.refresh()
        let appearance = LiveAppearance(store: store, logger: logger)
        try await appearance.reload()
        return LicensingServices(
            entitlements: entitlements, appearance: appearance, deploymentID: identity.id,
            trialIssuer: LicenseIssuer(privateKey: trialKey, keyID: trialKeyID)
        )
    }
}

extension TimeInterval {
    init(seconds duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = Double(seconds) + Double(attoseconds) / 1e18
    }
}

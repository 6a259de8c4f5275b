import Foundation
import Licensing

/// What the licensing routes run on: the replica's live entitlements and appearance, and the
/// deployment's own identity (its id for `deployment_ids`, its trial issuer).
public struct LicensingServices: Sendable {
    public let entitlements: LiveEntitlements
    public let appearance: LiveAppearance
    public let deploymentID: UUID
    /// Signs the deployment's one trial license (`POST /users/first` with `"trial": true`).
    public let trialIssuer: LicenseIssuer

    public init(entitlements: LiveEntitlements, appearance: LiveAppearance, deploymentID: UUID, trialIssuer: LicenseIssuer) {
        self.entitlements = entitlements
        self.appearance = appearance
        self.deploymentID = deploymentID
        self.trialIssuer = trialIssuer
    }
}

extension LiveEntitlements: FeatureProvider {
    public var entitlementWarnings: [String] { current.warnings }
}

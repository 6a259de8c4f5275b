import Foundation
import Postgres

/// What a deployment makes for itself once, on its first start, and keeps for good.
public struct DeploymentIdentity: Sendable, Equatable {
    public var id: UUID
    /// The raw 32-byte Ed25519 private key that signs this deployment's one trial license.
    public var trialSigningKey: Data
}

extension Store {
    /// The deployment's identity, made on the first start: of replicas starting together on an
    /// empty database, the first to insert wins and every one reads the same values.
    /// `makeTrialKey` is asked only when none is stored.
    public func deploymentIdentity(makeTrialKey: @escaping @Sendable () -> Data) async throws -> DeploymentIdentity {
        try await pool.withTransaction { connection in
            if try connection.one(SiteConfigs.value(.deploymentID)) == nil {
                try connection.execute(SiteConfigs.setOnce(.deploymentID, to: UUID().uuidString.lowercased()))
            }
            if try connection.one(SiteConfigs.value(.trialSigningKey)) == nil {
                try connection.execute(SiteConfigs.setOnce(.trialSigningKey, to: makeTrialKey().base64EncodedString()))
            }
            // Read after the inserts, each statement with a fresh snapshot: a concurrent
            // replica's value, if it won, is committed by now.
            guard let id = try connection.one(SiteConfigs.value(.deploymentID)).flatMap(UUID.init(uuidString:)),
                  let key = try connection.one(SiteConfigs.value(.trialSigningKey)).flatMap({ Data(base64Encoded: $0) })
            else { throw StoreError.notFound }
            return DeploymentIdentity(id: id, trialSigningKey: key)
        }
    }
}

extension Store {
    /// Every replica re-reads the appearance on a message here.
    public static let appearanceChannel = "appearance"

    /// The stored appearance; `.unset` when none was ever stored.
    public func appearance() async throws -> Appearance {
        try await pool.one(SiteConfigs.appearance)?.value ?? .unset
    }

    /// Replaces the appearance, records `audit` and tells every replica, in one transaction.
    public func setAppearance(_ appearance: Appearance, audit: AuditEntry? = nil) async throws {
        let statement = try SiteConfigs.setAppearance(appearance)
        try await pool.withTransaction { connection in
            try connection.execute(statement)
            try Self.recordAudit(audit, on: connection)
            try connection.execute(SiteConfigs.announceAppearance)
        }
    }
}

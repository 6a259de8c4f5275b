import Foundation
import Postgres

/// The `site_configs` table: one row per deployment-wide setting, its value as text.
enum SiteConfigs {
    enum Key: String {
        case deploymentID = "deployment_id"
        /// The raw 32-byte Ed25519 private key (base64) the deployment signs its own trial with.
        case trialSigningKey = "trial_signing_key"
        case appearance
    }

    static func value(_ key: Key) -> PostgresQuery<String> {
        PostgresQuery("SELECT value FROM site_configs WHERE key = \(key.rawValue)", column: "value")
    }

    /// Sets `key` unless it is set already (then the value there stays).
    static func setOnce(_ key: Key, to value: String) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO site_configs (key, value) VALUES (\(key.rawValue), \(value)) ON CONFLICT (key) DO NOTHING")
    }

    static func set(_ key: Key, to value: String) -> PostgresQuery<Void> {
        PostgresQuery("INSERT INTO site_configs (key, value) VALUES (\(key.rawValue), \(value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
    }
}

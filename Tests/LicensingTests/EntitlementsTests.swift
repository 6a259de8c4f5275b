import Foundation
import Licensing
import Testing
import WireFormat

/// A verified license: `termEnds` and `starts` are offsets from `now`; grace lasts 30 days.
func license(
    _ features: [String: Int64] = [:], all: Bool = false, starts: TimeInterval = -10 * day,
    termEnds: TimeInterval = 355 * day, trial: Bool = false, telemetry: Bool = false
) -> LicenseStanding {
    let token = try! issuer.sign(claims {
        $0["features"] = .object(features.mapValues { .int($0) })
        $0["all_features"] = .bool(all)
        $0["nbf"] = .int(seconds(now + starts))
        $0["iat"] = .int(seconds(now + min(starts, 0)))
        $0["license_expires"] = .int(seconds(now + termEnds))
        $0["exp"] = .int(seconds(now + termEnds + 30 * day))
        $0["trial"] = .bool(trial)
        $0["require_telemetry"] = .bool(telemetry)
    })
    return verifier.standing(of: token, uuid: UUID(), now: now)!
}

let inGrace: TimeInterval = -day

struct EntitlementCase: Sendable, CustomTestStringConvertible {
    let name: String
    var licenses: [LicenseStanding] = []
    var users: Int64 = 0
    var replicas = 1
    var gitAuth = 0
    var enablements: [FeatureName: Bool] = [:]
    var errors: [String] = []
    var warnings: [String] = []
    var features: [FeatureName: Feature] = [:]
    var hasLicense: Bool?
    var trial: Bool?
    var requireTelemetry: Bool?
    var testDescription: String { name }
}

let haNotEntitledLicensed = "You have multiple replicas but your license is not entitled to high availability. You will be unable to connect to workspaces."
let haNotEntitledUnlicensed = "You have multiple replicas but high availability is an Enterprise feature. You will be unable to connect to workspaces."
let haGrace = "You have multiple replicas but your license for high availability is expired. Reduce to one replica or workspace connections will stop working."
let invalidUUID = UUID(uuidString: "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE")!

let entitlementCases: [EntitlementCase] = [
    // No license: nothing entitled, nothing enabled, no warnings, the user count still shown.
    EntitlementCase(name: "no license", users: 3, enablements: [.auditLog: true, .templateRBAC: true],
                    features: [.userLimit: Feature(entitlement: .notEntitled, enabled: false, actual: 3),
                               .auditLog: Feature(entitlement: .notEntitled, enabled: false),
                               .templateRBAC: Feature(entitlement: .notEntitled, enabled: false)],
                    hasLicense: false, trial: false),
    EntitlementCase(name: "one replica needs no license", replicas: 1),
    EntitlementCase(name: "HA without a license", replicas: 2, errors: [haNotEntitledUnlicensed]),
    EntitlementCase(name: "HA with a license lacking it", licenses: [license(["audit_log": 1])], replicas: 3, errors: [haNotEntitledLicensed]),
    EntitlementCase(name: "HA in grace", licenses: [license(["high_availability": 1], termEnds: inGrace)], replicas: 2, warnings: [haGrace],
                    features: [.highAvailability: Feature(entitlement: .gracePeriod, enabled: false)]),
    EntitlementCase(name: "HA entitled", licenses: [license(["high_availability": 1])], replicas: 2, enablements: [.highAvailability: true],
                    features: [.highAvailability: Feature(entitlement: .entitled, enabled: true)]),
    EntitlementCase(name: "over the user limit", licenses: [license(["user_limit": 10])], users: 11,
                    warnings: ["Your deployment has 11 active users but is only licensed for 10."],
                    features: [.userLimit: Feature(entitlement: .entitled, enabled: true, limit: 10, actual: 11)], hasLicense: true),
    EntitlementCase(name: "at the user limit", licenses: [license(["user_limit": 10])], users: 10),
    EntitlementCase(name: "user limit in grace", licenses: [license(["user_limit": 10, "audit_log": 1], termEnds: inGrace)], users: 5,
                    enablements: [.auditLog: true],
                    warnings: ["Your deployment has 5 active users but the license with the limit 10 is expired.",
                               "Audit Log is enabled but your license for this feature is expired."],
                    features: [.auditLog: Feature(entitlement: .gracePeriod, enabled: true)]),
    EntitlementCase(name: "the user limit that fits wins, even in grace",
                    licenses: [license(["user_limit": 10]), license(["user_limit": 50], termEnds: inGrace)], users: 20,
                    warnings: ["Your deployment has 20 active users but the license with the limit 50 is expired."],
                    features: [.userLimit: Feature(entitlement: .gracePeriod, enabled: true, limit: 50, actual: 20)]),
    EntitlementCase(name: "of limits that fit, the entitled one wins",
                    licenses: [license(["user_limit": 50], termEnds: inGrace), license(["user_limit": 30])], users: 20,
                    features: [.userLimit: Feature(entitlement: .entitled, enabled: true, limit: 30, actual: 20)]),
    EntitlementCase(name: "entitled beats grace, grace first",
                    licenses: [license(["template_rbac": 1], termEnds: inGrace), license(["template_rbac": 1])], enablements: [.templateRBAC: true],
                    features: [.templateRBAC: Feature(entitlement: .entitled, enabled: true)]),
    EntitlementCase(name: "entitled beats grace, grace last",
                    licenses: [license(["template_rbac": 1]), license(["template_rbac": 1], termEnds: inGrace)], enablements: [.templateRBAC: true],
                    features: [.templateRBAC: Feature(entitlement: .entitled, enabled: true)]),
    EntitlementCase(name: "grace beats not entitled",
                    licenses: [license(["scim": 1], termEnds: inGrace), license(["audit_log": 1])], enablements: [.scim: true],
                    warnings: ["SCIM is enabled but your license for this feature is expired."],
                    features: [.scim: Feature(entitlement: .gracePeriod, enabled: true)]),
    EntitlementCase(name: "enabled but not entitled, humanized and forced off",
                    licenses: [license(["audit_log": 1])],
                    enablements: [.templateRBAC: true, .scim: true, .browserOnly: true, .auditLog: true],
                    warnings: ["Browser Only is enabled but your license is not entitled to this feature.",
                               "SCIM is enabled but your license is not entitled to this feature.",
                               "Template RBAC is enabled but your license is not entitled to this feature."],
                    features: [.auditLog: Feature(entitlement: .entitled, enabled: true),
                               .templateRBAC: Feature(entitlement: .notEntitled, enabled: false),
                               .scim: Feature(entitlement: .notEntitled, enabled: false),
                               .browserOnly: Feature(entitlement: .notEntitled, enabled: false)]),
    EntitlementCase(name: "a zero, a negative or an unknown feature grants nothing",
                    licenses: [license(["scim": 0, "audit_log": -1, "workspace_proxy": 1])],
                    features: [.scim: Feature(entitlement: .notEntitled, enabled: false),
                               .auditLog: Feature(entitlement: .notEntitled, enabled: false)]),
    EntitlementCase(name: "all features: everything but the user limit, some always on",
                    licenses: [license(all: true)], enablements: [.auditLog: true],
                    features: [.auditLog: Feature(entitlement: .entitled, enabled: true),
                               .scim: Feature(entitlement: .entitled, enabled: false),
                               .appearance: Feature(entitlement: .entitled, enabled: true),
                               .externalProvisionerDaemons: Feature(entitlement: .entitled, enabled: true),
                               .multipleGitAuth: Feature(entitlement: .entitled, enabled: true),
                               .userLimit: Feature(entitlement: .notEntitled, enabled: false, actual: 0)]),
    EntitlementCase(name: "expires in 10 days", licenses: [license(termEnds: 10 * day)], warnings: ["Your license expires in 10 days."]),
    EntitlementCase(name: "expires in under a day: 1 day", licenses: [license(termEnds: 3600)], warnings: ["Your license expires in 1 day."]),
    EntitlementCase(name: "days round up: 29.5 is 30, no warning", licenses: [license(termEnds: 29.5 * day)]),
    EntitlementCase(name: "29 days warns", licenses: [license(termEnds: 29 * day)], warnings: ["Your license expires in 29 days."]),
    EntitlementCase(name: "a trial warns from 7 days only", licenses: [license(termEnds: 10 * day, trial: true)], trial: true),
    EntitlementCase(name: "a trial at 5 days", licenses: [license(termEnds: 5 * day, trial: true)], warnings: ["Your license expires in 5 days."]),
    EntitlementCase(name: "a renewal starting before the end suppresses the warning",
                    licenses: [license(termEnds: 10 * day), license(starts: 5 * day, termEnds: 400 * day)]),
    EntitlementCase(name: "a renewal starting on the last day suppresses it too",
                    licenses: [license(termEnds: 10 * day), license(starts: 10 * day, termEnds: 400 * day)]),
    EntitlementCase(name: "a renewal after a gap does not",
                    licenses: [license(termEnds: 10 * day), license(starts: 20 * day, termEnds: 400 * day)],
                    warnings: ["Your license expires in 10 days."]),
    EntitlementCase(name: "a license in grace before a gap does not hide the current one's expiry",
                    licenses: [license(starts: -60 * day, termEnds: inGrace), license(starts: -day / 2, termEnds: 10 * day)],
                    warnings: ["Your license expires in 10 days."]),
    EntitlementCase(name: "the expiring license's own trial flag sets the threshold, not the last one listed",
                    licenses: [license(termEnds: 20 * day), license(starts: -day, termEnds: 5 * day, trial: true)],
                    warnings: ["Your license expires in 20 days."], trial: true),
    EntitlementCase(name: "a trial ending a merged period warns from 7 days only",
                    licenses: [license(termEnds: 5 * day), license(starts: 4 * day, termEnds: 10 * day, trial: true)]),
    EntitlementCase(name: "a pending license grants nothing and is no license yet",
                    licenses: [license(["audit_log": 1], starts: 5 * day)],
                    features: [.auditLog: Feature(entitlement: .notEntitled, enabled: false)], hasLicense: false),
    EntitlementCase(name: "an invalid license is an error", licenses: [.invalid(uuid: invalidUUID, reason: "no key with ID old")],
                    errors: ["Invalid license (aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee) parsing claims: no key with ID old"], hasLicense: false),
    EntitlementCase(name: "the last license's trial flag wins, telemetry is any license's",
                    licenses: [license(trial: true, telemetry: true), license()], trial: false, requireTelemetry: true),
    EntitlementCase(name: "several git auth providers without a license", gitAuth: 2,
                    errors: ["You have multiple Git authorizations configured but this is an Enterprise feature. Reduce to one."]),
    EntitlementCase(name: "several git auth providers with a license lacking it", licenses: [license()], gitAuth: 2,
                    errors: ["You have multiple Git authorizations configured but your license is limited at one."]),
    EntitlementCase(name: "several git auth providers in grace", licenses: [license(["multiple_git_auth": 1], termEnds: inGrace)], gitAuth: 2,
                    warnings: ["You have multiple Git authorizations configured but your license is expired. Reduce to one."]),
    EntitlementCase(name: "several git auth providers, entitled", licenses: [license(["multiple_git_auth": 1])], gitAuth: 2,
                    features: [.multipleGitAuth: Feature(entitlement: .entitled, enabled: true)]),
]

@Suite struct EntitlementsTests {
    @Test(arguments: entitlementCases) func computes(_ c: EntitlementCase) {
        let result = Entitlements.compute(
            licenses: c.licenses, activeUserCount: c.users, replicaCount: c.replicas,
            externalAuthCount: c.gitAuth, enablements: c.enablements, now: now
        )
        #expect(result.errors == c.errors)
        #expect(result.warnings == c.warnings)
        for (name, feature) in c.features {
            #expect(result[name] == feature, "\(name.rawValue)")
        }
        if let hasLicense = c.hasLicense { #expect(result.hasLicense == hasLicense) }
        if let trial = c.trial { #expect(result.trial == trial) }
        if let requireTelemetry = c.requireTelemetry { #expect(result.requireTelemetry == requireTelemetry) }
        #expect(result.refreshedAt == now)
        #expect(Set(result.features.keys) == Set(FeatureName.allCases.map(\.rawValue)))
        // Whatever the configuration, a feature that is not entitled is off.
        #expect(result.features.values.allSatisfy { $0.entitlement != .notEntitled || !$0.enabled })
    }

    @Test func encodesInTheSeedsShape() throws {
        let result = Entitlements.compute(licenses: [license(["user_limit": 10])], activeUserCount: 2, replicaCount: 1, enablements: [:], now: now)
        let json = try WireJSON.encodeString(result)
        #expect(json.hasPrefix(#"{"errors":[],"experimental":false,"features":{"appearance":{"enabled":false,"entitlement":"not_entitled"},"#))
        #expect(json.contains(#""user_limit":{"actual":2,"enabled":true,"entitlement":"entitled","limit":10}"#))
        #expect(json.hasSuffix(#""has_license":true,"refreshed_at":"2026-06-01T00:00:00.000000Z","require_telemetry":false,"trial":false,"warnings":[]}"#))
    }

    @Test func humanizesAsCoderDoes() {
        #expect(FeatureName.allCases.map(\.humanized) == [
            "User Limit", "Audit Log", "Browser Only", "SCIM", "Template RBAC", "High Availability",
            "Multiple Git Auth", "External Provisioner Daemons", "Appearance",
        ])
    }

    /// A term of 1e300 seconds is no term (issue #20): the license is invalid, named in the errors,
    /// and grants nothing; computing over it does not trap.
    @Test func aTermOf1e300SecondsIsAnInvalidLicense() throws {
        let token = try issuer.sign(claims { $0["license_expires"] = .double(1e300); $0["exp"] = .double(1e300) })
        let uuid = try #require(UUID(uuidString: "aaaaaaaa-2222-3333-4444-555555555555"))
        let standing = try #require(verifier.standing(of: token, uuid: uuid, now: now))
        let result = Entitlements.compute(licenses: [standing], activeUserCount: 1, replicaCount: 1, enablements: [:], now: now)
        #expect(!result.hasLicense && result.warnings.isEmpty)
        #expect(result.errors == [
            "Invalid license (aaaaaaaa-2222-3333-4444-555555555555) parsing claims: exp claim out of range: 1e+300 is not a time between the years 0001 and 9999",
        ])
        #expect(result[.auditLog].entitlement == .notEntitled)
    }

    @Test func aPendingLicenseWithAnotherProblemIsDroppedSilently() throws {
        let token = try issuer.sign(claims { $0["nbf"] = .int(seconds(now + day)); $0["version"] = .int(2) })
        #expect(verifier.standing(of: token, uuid: UUID(), now: now) == nil)
    }
}

import Foundation

extension Entitlements {
    /// Coder's entitlements algorithm (`license.LicensesEntitlements`) over the v0.17 features:
    /// a pure function of the licenses, the counts and the configuration at `now`.
    ///
    /// - `replicaCount`: live replicas that started more than the HA grace ago (the caller
    ///   filters, so that a rolling restart of one replica raises no HA error).
    /// - `externalAuthCount`: configured git auth providers (more than one needs a license).
    /// - `enablements`: what the deployment's configuration switches on; a feature that is not
    ///   entitled is reported disabled whatever it says.
    public static func compute(
        licenses: [LicenseStanding],
        activeUserCount: Int64,
        replicaCount: Int,
        externalAuthCount: Int = 0,
        enablements: [FeatureName: Bool],
        experimental: Bool = false,
        now: Date
    ) -> Entitlements {
        var result = Entitlements(refreshedAt: now)
        result.experimental = experimental
        for name in FeatureName.allCases {
            result[name] = Feature(entitlement: .notEntitled, enabled: enablements[name] ?? false)
        }
        // The user count shows whether or not a license limits it.
        result[.userLimit].actual = activeUserCount

        var terms = ValidityPeriods()
        var userLimits: [(limit: Int64, entitlement: Entitlement)] = []
        for standing in licenses {
            let license: License
            switch standing {
            case .invalid(let uuid, let reason):
                result.errors.append("Invalid license (\(uuid.uuidString.lowercased())) parsing claims: \(reason)")
                continue
            case .notYetValid(let pending):
                terms.add(pending)
                continue
            case .valid(let valid):
                license = valid
            }
            terms.add(license)
            result.hasLicense = true
            result.requireTelemetry = result.requireTelemetry || license.requireTelemetry
            // The last license wins, as in Coder; deleting the trial license clears it.
            result.trial = license.trial
            // Past `exp` the license would not have verified, so past `license_expires` is grace.
            let entitlement: Entitlement = now > license.licenseExpires ? .gracePeriod : .entitled

            func enabled(_ name: FeatureName) -> Bool { (enablements[name] ?? false) || name.alwaysEnabledWhenEntitled }
            for name in FeatureName.granted(byFeatureSet: license.effectiveFeatureSet) {
                result.merge(name, Feature(entitlement: entitlement, enabled: enabled(name)))
            }
            for (key, value) in license.features {
                // Unknown names are features of other versions; zero or less grants nothing.
                guard let name = FeatureName(rawValue: key), value > 0 else { continue }
                if name.usesLimit {
                    userLimits.append((value, entitlement))
                    result.merge(name, Feature(entitlement: entitlement, enabled: true, limit: value, actual: activeUserCount))
                } else {
                    result.merge(name, Feature(entitlement: entitlement, enabled: enabled(name)))
                }
            }
        }
        result.selectUserLimit(userLimits, activeUserCount: activeUserCount)

        if let warning = terms.expiryWarning(now: now) {
            result.warnings.append(warning)
        }
        result.checkReplicas(replicaCount)
        result.checkGitAuth(externalAuthCount)
        if result.hasLicense {
            result.warnAboutUsers(activeUserCount)
            result.warnAboutUnlicensedFeatures()
        }
        for name in FeatureName.allCases where result[name].entitlement == .notEntitled {
            result[name].enabled = false
        }
        return result
    }

    /// Keeps the better of what is there and what a license grants (Coder's `AddFeature`).
    private mutating func merge(_ name: FeatureName, _ feature: Feature) {
        if !self[name].isBetter(than: feature) { self[name] = feature }
    }

    /// The most favourable user limit of all licenses: one the user count fits beats one it
    /// exceeds, then the better entitlement, then the higher limit (current Coder's choice).
    private mutating func selectUserLimit(_ candidates: [(limit: Int64, entitlement: Entitlement)], activeUserCount: Int64) {
        guard var best = candidates.first else { return }
        for candidate in candidates.dropFirst() {
            let fits = activeUserCount <= candidate.limit, bestFits = activeUserCount <= best.limit
            if fits != bestFits {
                if fits { best = candidate }
            } else if candidate.entitlement != best.entitlement {
                if candidate.entitlement > best.entitlement { best = candidate }
            } else if candidate.limit > best.limit {
                best = candidate
            }
        }
        self[.userLimit] = Feature(entitlement: best.entitlement, enabled: true, limit: best.limit, actual: activeUserCount)
    }

    private mutating func checkReplicas(_ replicaCount: Int) {
        guard replicaCount > 1 else { return }
        require(
            .highAvailability,
            licensed: "You have multiple replicas but your license is not entitled to high availability. You will be unable to connect to workspaces.",
            unlicensed: "You have multiple replicas but high availability is an Enterprise feature. You will be unable to connect to workspaces.",
            grace: "You have multiple replicas but your license for high availability is expired. Reduce to one replica or workspace connections will stop working."
        )
    }

    /// v0.17's wording; later versions say "External Auth Providers".
    private mutating func checkGitAuth(_ count: Int) {
        guard count > 1 else { return }
        require(
            .multipleGitAuth,
            licensed: "You have multiple Git authorizations configured but your license is limited at one.",
            unlicensed: "You have multiple Git authorizations configured but this is an Enterprise feature. Reduce to one.",
            grace: "You have multiple Git authorizations configured but your license is expired. Reduce to one."
        )
    }

    /// A feature the deployment uses: an error when not entitled (worded by whether there is a
    /// license at all), a warning in grace.
    private mutating func require(_ name: FeatureName, licensed: String, unlicensed: String, grace: String) {
        switch self[name].entitlement {
        case .notEntitled: errors.append(hasLicense ? licensed : unlicensed)
        case .gracePeriod: warnings.append(grace)
        case .entitled: break
        }
    }

    private mutating func warnAboutUsers(_ activeUserCount: Int64) {
        let userLimit = self[.userLimit]
        guard let limit = userLimit.limit else { return }
        if activeUserCount > limit {
            warnings.append("Your deployment has \(activeUserCount) active users but is only licensed for \(limit).")
        } else if userLimit.entitlement == .gracePeriod {
            warnings.append("Your deployment has \(activeUserCount) active users but the license with the limit \(limit) is expired.")
        }
    }

    /// Features with warnings of their own (users, replicas, git auth) are left to those.
    private mutating func warnAboutUnlicensedFeatures() {
        for name in FeatureName.allCases where ![.userLimit, .highAvailability, .multipleGitAuth].contains(name) {
            let feature = self[name]
            guard feature.enabled else { continue }
            switch feature.entitlement {
            case .notEntitled:
                warnings.append("\(name.humanized) is enabled but your license is not entitled to this feature.")
            case .gracePeriod:
                warnings.append("\(name.humanized) is enabled but your license for this feature is expired.")
            case .entitled:
                break
            }
        }
    }
}

/// `--features` of `coordinator license issue`: `all` (the enterprise feature set) or
/// `name=N,...` (each a feature name and its count, `user_limit` being one of them), or both
/// (`all,user_limit=50`).
public struct FeatureSpec: Sendable, Equatable {
    public var allFeatures = false
    public var features: [String: Int64] = [:]

    public init(allFeatures: Bool = false, features: [String: Int64] = [:]) {
        self.allFeatures = allFeatures
        self.features = features
    }

    public init(parsing text: String) throws(LicenseKeyError) {
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            if item == "all" {
                allFeatures = true
                continue
            }
            let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let count = Int64(pair[1]), count >= 0 else {
                throw LicenseKeyError("expected all or name=N, got \"\(item)\"")
            }
            // A typo would issue a license that silently grants nothing.
            guard FeatureName(rawValue: pair[0]) != nil else {
                let known = FeatureName.allCases.map(\.rawValue).joined(separator: ", ")
                throw LicenseKeyError("unknown feature \"\(pair[0])\" (known: \(known))")
            }
            features[pair[0]] = count
        }
    }
}

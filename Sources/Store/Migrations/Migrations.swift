import Postgres

/// Every schema migration of the product, in order. Each is compiled into the binary, so a
/// `coordinator` executable carries exactly the schema it expects.
public enum Schema {
    public static let migrations: [Migration] = [
        identity,
        replicas,
        provisioning,
        hardening,
        licensing,
        auditLog,
        templateACL,
        quota,
        scim,
        retention,
        daemonOwnerKey,
        unicodeNames,
        userChangeNotices,
        daemonCaps,
        templateVersionVariables,
        daemonProvisionerVersions,
    ]
}

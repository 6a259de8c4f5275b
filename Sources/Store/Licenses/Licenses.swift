import Foundation
import Postgres

/// A license as uploaded: the JWT is kept as is and parsed by whoever reads it, so that a
/// license this version cannot verify is still listed (and reported) rather than lost.
public struct StoredLicense: Sendable, Equatable {
    public var id: Int32
    public var uploadedAt: Date
    public var jwt: String
    /// The JWT's `exp`: the end of its grace period, after which it grants nothing.
    public var expires: Date
    public var uuid: UUID

    public init(id: Int32, uploadedAt: Date, jwt: String, expires: Date, uuid: UUID) {
        self.id = id
        self.uploadedAt = uploadedAt
        self.jwt = jwt
        self.expires = expires
        self.uuid = uuid
    }
}

/// A verified license, to be stored.
public struct NewLicense: Sendable, Equatable {
    public var jwt: String
    public var expires: Date
    public var uuid: UUID

    public init(jwt: String, expires: Date, uuid: UUID) {
        self.jwt = jwt
        self.expires = expires
        self.uuid = uuid
    }
}

/// What the licenses channel says changed. Every replica recomputes its entitlements on any of
/// them; the payload is for the log.
public enum LicensesChange: String, Sendable {
    case add, delete
    /// A user was created, suspended or activated: the active user count moved.
    case users
}

/// The `licenses` table's statements.
enum Licenses {
    static let constraintFields = ["licenses_jwt_key": "license", "licenses_uuid_key": "license"]

    private static let columns: SQL = "id, uploaded_at, jwt, exp, uuid"

    private static func license(_ row: PostgresRow) throws -> StoredLicense {
        StoredLicense(
            id: try row.decode("id"), uploadedAt: try row.decode("uploaded_at"), jwt: try row.decode("jwt"),
            expires: try row.decode("exp"), uuid: try row.decode("uuid")
        )
    }

    static let all = PostgresQuery<StoredLicense>("SELECT \(columns) FROM licenses ORDER BY id", decode: license)

    /// Those still inside their grace period at `now`: the only ones entitlements look at.
    static func unexpired(at now: Date) -> PostgresQuery<StoredLicense> {
        PostgresQuery("SELECT \(columns) FROM licenses WHERE exp > \(now) ORDER BY id", decode: license)
    }

    static func withID(_ id: Int32) -> PostgresQuery<StoredLicense> {
        PostgresQuery("SELECT \(columns) FROM licenses WHERE id = \(id)", decode: license)
    }

    static func insert(_ new: NewLicense) -> PostgresQuery<StoredLicense> {
        PostgresQuery("INSERT INTO licenses (jwt, exp, uuid) VALUES (\(new.jwt), \(new.expires), \(new.uuid)) RETURNING \(columns)", decode: license)
    }

    static func delete(id: Int32) -> PostgresQuery<StoredLicense> {
        PostgresQuery("DELETE FROM licenses WHERE id = \(id) RETURNING \(columns)", decode: license)
    }

    /// Delivered to every replica when the transaction commits.
    static func announce(_ change: LicensesChange) -> PostgresQuery<Void> {
        PostgresQuery("SELECT pg_notify(\(Store.licensesChannel), \(change.rawValue))")
    }
}

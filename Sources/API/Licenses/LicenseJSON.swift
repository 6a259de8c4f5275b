import Foundation
import Hummingbird
import WireFormat

extension LicensesController {
    /// A license as `GET/POST /licenses` show it: its claims as signed.
    struct LicenseJSON: ResponseEncodable {
        let claims: [String: JSONValue]
        let id: Int32
        let uploaded_at: Date
        let uuid: UUID
    }

    /// What the audit log shows of a license: the JWT only as "changed" (Coder's secret field).
    struct AuditedLicense: Encodable {
        let uuid: UUID
        let exp: Date
        let jwt: String
        let uploaded_at: Date?

        static let secretFields: Set<String> = ["jwt"]
    }
}

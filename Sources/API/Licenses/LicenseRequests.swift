import Foundation

extension LicensesController {
    /// `POST /licenses`.
    struct AddLicenseRequest: Decodable {
        let license: String

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            license = fields.required("license")
            try fields.check()
        }
    }
}

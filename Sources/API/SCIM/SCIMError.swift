import HTTPTypes

/// An error of the SCIM protocol (RFC 7644 §3.12): a status and, for 400s, a `scimType`. It
/// becomes an `APIError` of the SCIM shape, so one error writer serves both families.
struct SCIMError: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    var scimType: String?
    var detail: String

    var apiError: APIError {
        var error = APIError(status, detail)
        error.shape = .scim
        error.scimType = scimType
        return error
    }

    static func invalidFilter(_ detail: String) -> SCIMError { SCIMError(status: .badRequest, scimType: "invalidFilter", detail: detail) }
    static func invalidSyntax(_ detail: String) -> SCIMError { SCIMError(status: .badRequest, scimType: "invalidSyntax", detail: detail) }
    static func invalidValue(_ detail: String) -> SCIMError { SCIMError(status: .badRequest, scimType: "invalidValue", detail: detail) }
    static func invalidPath(_ detail: String) -> SCIMError { SCIMError(status: .badRequest, scimType: "invalidPath", detail: detail) }
    static func noTarget(_ detail: String) -> SCIMError { SCIMError(status: .badRequest, scimType: "noTarget", detail: detail) }
    static func mutability(_ detail: String) -> SCIMError { SCIMError(status: .badRequest, scimType: "mutability", detail: detail) }
    static func uniqueness(_ detail: String) -> SCIMError { SCIMError(status: .conflict, scimType: "uniqueness", detail: detail) }
    static func tooMany(_ detail: String) -> SCIMError { SCIMError(status: .badRequest, scimType: "tooMany", detail: detail) }
    static func notFound(_ detail: String) -> SCIMError { SCIMError(status: .notFound, detail: detail) }
    static let preconditionFailed = SCIMError(status: .preconditionFailed, detail: "The resource changed: its version is no longer the one If-Match names.")
    static let methodNotAllowed = SCIMError(status: .methodNotAllowed, detail: "This endpoint does not take that method.")
}

import HTTPTypes

/// The one error type of the HTTP layer, written as Coder's envelope
/// `{"message","detail","validations":[{"field","detail"}]}`.
public struct APIError: Error, Sendable {
    public struct Validation: Sendable, Codable, Equatable {
        public var field: String
        public var detail: String
        public init(field: String, detail: String) {
            self.field = field
            self.detail = detail
        }
    }

    /// The error shape of the route family: Coder's envelope, or RFC 7644's for SCIM routes.
    public enum Shape: Sendable { case coder, scim }

    public var status: HTTPResponse.Status
    public var message: String
    public var detail: String?
    public var validations: [Validation]
    public var headers: HTTPFields
    /// What really went wrong, for the log only: never written to a response. A 5xx answers with
    /// the request id as its detail instead (see `ErrorMiddleware.response(for:requestID:logger:)`).
    public var underlying: (any Error)?
    public var shape: Shape = .coder
    /// RFC 7644's `scimType` (e.g. `uniqueness`, `invalidValue`), for the SCIM shape.
    public var scimType: String?

    public init(_ status: HTTPResponse.Status, _ message: String, detail: String? = nil, validations: [Validation] = [], headers: HTTPFields = [:], underlying: (any Error)? = nil) {
        self.status = status
        self.message = message
        self.detail = detail
        self.validations = validations
        self.headers = headers
        self.underlying = underlying
    }
}

/// An internal failure described in words, for the log.
struct InternalFailure: Error, CustomStringConvertible {
    let description: String
}

extension APIError {
    /// Failed reads, and anything the caller may not know exists: the same text for both.
    public static let resourceNotFound = APIError(.notFound, "Resource not found or you do not have access to this resource")
    public static let routeNotFound = APIError(.notFound, "Route not found.")
    public static let forbidden = APIError(.forbidden, "Forbidden.")
    public static let signedOut = APIError(
        .unauthorized, "You are signed out or your session has expired. Please sign in again to continue."
    )

    public static func invalidJSON(_ detail: String) -> APIError {
        APIError(.badRequest, "Request body must be valid JSON.", detail: detail)
    }

    public static func validationFailed(_ validations: [Validation]) -> APIError {
        APIError(.badRequest, "Validation failed.", validations: validations)
    }

    /// Text holding U+0000, which nothing stores (see `NULCharacter`); `field` names where.
    public static func holdsNUL(field: String) -> APIError {
        let field = field.isEmpty ? "body" : field
        var error = validationFailed([.init(field: field, detail: "must not contain the NUL character (U+0000)")])
        error.detail = "\"\(field)\" must not contain the NUL character (U+0000)."
        error.scimType = "invalidValue"
        return error
    }

    /// `reason` goes to the log; the client sees only the fixed message and the request id.
    public static func internalError(_ reason: String) -> APIError {
        internalError(underlying: InternalFailure(description: reason))
    }

    static func internalError(underlying: any Error) -> APIError {
        APIError(.internalServerError, "An internal server error occurred.", underlying: underlying)
    }

    /// The database could not be reached (down, failing over, pool exhausted): worth retrying.
    static func databaseUnavailable(underlying: any Error) -> APIError {
        APIError(.serviceUnavailable, "The database is unavailable.", underlying: underlying)
    }

    public static func invalidUUID(_ raw: String) -> APIError {
        APIError(.badRequest, "Invalid UUID \"\(raw)\".")
    }
}

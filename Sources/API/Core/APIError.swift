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

    public var status: HTTPResponse.Status
    public var message: String
    public var detail: String?
    public var validations: [Validation]
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, detail: String? = nil, validations: [Validation] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.detail = detail
        self.validations = validations
        self.headers = headers
    }
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

    public static func internalError(_ detail: String) -> APIError {
        APIError(.internalServerError, "An internal server error occurred.", detail: detail)
    }

    public static func invalidUUID(_ raw: String) -> APIError {
        APIError(.badRequest, "Invalid UUID \"\(raw)\".")
    }
}

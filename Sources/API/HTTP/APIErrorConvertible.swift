import Store

/// An error that knows how the API answers it: `ErrorMiddleware` asks, so a handler throws a
/// domain error as it comes and writes no catch ladder to translate it (Hummingbird's
/// `HTTPResponseError` is the model). A resource's errors conform beside its controller.
protocol APIErrorConvertible: Error {
    /// The answer; `.internalError(underlying: self)` for a case that is the server's fault.
    var apiError: APIError { get }
}

extension SCIMError: APIErrorConvertible {}

extension StoreError: APIErrorConvertible {
    /// The Store's generic answers. A resource that words a case its own way (Coder's "A group
    /// named … already exists.") catches that one case where it knows the words.
    var apiError: APIError {
        switch self {
        case .notFound:
            return .resourceNotFound
        case .invalid(let field, let detail):
            // The store's own check behind the handler's (which answers in the resource's words).
            var apiError = APIError.validationFailed([.init(field: field, detail: detail)])
            apiError.detail = "\"\(field)\" \(detail)."
            apiError.scimType = "invalidValue"
            return apiError
        case .conflict, .alreadyInitialized, .buildActive:
            // Each resource words these (a handler catches the one it expects); one that
            // arrives here is a path nobody expected.
            return .internalError(underlying: self)
        }
    }
}

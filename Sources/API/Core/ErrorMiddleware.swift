import Foundation
import Hummingbird
import Logging
import Store

/// Turns every error into Coder's envelope with the right status. Unknown errors become a 500 whose
/// detail names the error, and are logged.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    private struct Envelope: Encodable {
        let message: String
        let detail: String?
        let validations: [APIError.Validation]?
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return Self.response(for: apiError)
        }
    }

    static func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case StoreError.notFound:
            return .resourceNotFound
        case let error as HTTPError where error.status == .notFound:
            return .routeNotFound
        case let error as HTTPError:
            return APIError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        default:
            return .internalError(String(describing: error))
        }
    }

    static func response(for error: APIError) -> Response {
        let envelope = Envelope(
            message: error.message,
            detail: error.detail,
            validations: error.validations.isEmpty ? nil : error.validations
        )
        return (try? JSON.response(envelope, status: error.status, headers: error.headers))
            ?? Response(status: .internalServerError)
    }
}

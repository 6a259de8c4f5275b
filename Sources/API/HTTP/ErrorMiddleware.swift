import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Postgres
import Store
import Support

/// Turns every error into Coder's envelope with the right status, and tags every response with the
/// request id. A 5xx never carries internal text (libpq messages name hosts, ports and SQLSTATEs):
/// its detail is the request id, and the full error is logged under that id.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    private struct Envelope: Encodable {
        let message: String
        let detail: String?
        let validations: [APIError.Validation]?
    }

    static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var logger = context.logger
            logger[metadataKey: "path"] = "\(request.uri.path)"
            let annotated = error as? ErrorWithHeaders
            var apiError = Self.apiError(for: annotated?.underlying ?? error)
            // Under a SCIM base path every error is a SCIM error, the router's own 404s and 405s
            // included (IdPs and RFC 7644 clients read no other shape).
            if SCIMController.owns(request.uri.path) { apiError.shape = .scim }
            response = Self.response(for: apiError, requestID: context.id, logger: logger)
            if let annotated { response.headers.append(contentsOf: annotated.headers) }
        }
        response.headers[Self.requestIDHeader] = context.id
        // One line per request at debug level (the logger carries the request id), the route
        // pattern rather than the raw path, so that no token or name in a path reaches the log.
        context.logger.debug("request", metadata: [
            "method": "\(request.method)", "route": "\(context.endpointPath ?? "unmatched")", "status": "\(response.status.code)",
        ])
        return response
    }

    /// The public face of `error`. Errors we did not make ourselves keep the original in
    /// `underlying` for the log.
    static func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as any APIErrorConvertible:
            // SCIM's errors, the Store's, and each resource's own.
            return error.apiError
        case let error as HTTPError where error.status == .notFound:
            return .routeNotFound
        case let error as HTTPError:
            return APIError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        case let error as PostgresError where error.isUnstorableText:
            // The backstop behind the request decoders' own check (`NULCharacter`): a NUL that
            // came some other way (a path or query parameter) is still the client's error.
            var apiError = APIError(.badRequest, "Invalid text.", detail: "Text may not contain the NUL character (U+0000).")
            apiError.scimType = "invalidValue"
            return apiError
        case let error as PostgresError where error.sqlState == "55P03":
            // `lock_not_available`: a lock a request may wait only so long for (a daemon cap's).
            return APIError(.serviceUnavailable, "The server is busy. Try again.", underlying: error)
        case let error as PostgresError where error.isUnavailable:
            return .databaseUnavailable(underlying: error)
        default:
            return .internalError(underlying: error)
        }
    }

    /// The response for `error`: a 5xx is logged with the request id, which replaces its detail.
    static func response(for error: APIError, requestID: String, logger: Logger) -> Response {
        var error = error
        if error.status.code >= 500 {
            logger.error("request failed", metadata: [
                "request_id": "\(requestID)", "status": "\(error.status.code)",
                "error": "\(error.underlying.map { oneLine($0) } ?? error.detail ?? error.message)",
            ])
            error.detail = requestID
        }
        error.headers[requestIDHeader] = requestID
        return response(for: error)
    }

    private static func response(for error: APIError) -> Response {
        switch error.shape {
        case .coder:
            return JSON.bytes(envelope(for: error), status: error.status, headers: error.headers)
        case .scim:
            var response = JSON.bytes(scimEnvelope(for: error), status: error.status, headers: error.headers)
            response.headers[.contentType] = "application/scim+json"
            return response
        }
    }

    /// RFC 7644 §3.12: `{"schemas":[…Error],"status":"403","detail":"…"}`; the message is the
    /// detail (SCIM errors have no separate message), with ours appended when there is one.
    private struct SCIMEnvelope: Encodable {
        let schemas = ["urn:ietf:params:scim:api:messages:2.0:Error"]
        let status: String
        let scimType: String?
        let detail: String
    }

    static func scimEnvelope(for error: APIError) -> ByteBuffer {
        let envelope = SCIMEnvelope(
            status: String(error.status.code), scimType: error.scimType,
            detail: error.detail.map { "\(error.message) \($0)" } ?? error.message
        )
        return (try? JSON.encode(envelope)) ?? ByteBuffer(string: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"An internal server error occurred."}"#)
    }

    static func envelope(for error: APIError) -> ByteBuffer {
        let envelope = Envelope(
            message: error.message,
            detail: error.detail,
            validations: error.validations.isEmpty ? nil : error.validations
        )
        return (try? JSON.encode(envelope)) ?? ByteBuffer(string: #"{"message":"An internal server error occurred."}"#)
    }
}

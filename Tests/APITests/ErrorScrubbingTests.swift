import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import Testing
@testable import API

/// A 5xx body carries a fixed message and the request id, never the error's own text.
@Suite struct ErrorScrubbingTests {
    @Test func internalErrorsAnswerOnlyWithTheRequestID() async throws {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.get("query") { _, _ -> Response in
            throw PostgresError(.server, "relation \"secret_table\" does not exist", sqlState: "42P01", detail: "at 10.1.2.3")
        }
        router.get("down") { _, _ -> Response in
            throw PostgresError(.connection, "connection to server at \"10.1.2.3\", port 6543 failed: Connection refused")
        }
        router.get("ours") { _, _ -> Response in throw APIError.internalError("workspace 42 without a build") }
        router.get("fine") { _, _ in "ok" }
        try await Application(router: router).test(.router) { client in
            for (path, status, message) in [
                ("/query", 500, "An internal server error occurred."),
                ("/down", 503, "The database is unavailable."),
                ("/ours", 500, "An internal server error occurred."),
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status.code == status, "\(path)")
                    let body = String(buffer: response.body)
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                    #expect(json["message"] as? String == message)
                    let requestID = try #require(response.headers[ErrorMiddleware<AppRequestContext>.requestIDHeader])
                    #expect(json["detail"] as? String == requestID)
                    for secret in ["secret_table", "42P01", "SQLSTATE", "10.1.2.3", "6543", "workspace 42"] {
                        #expect(!body.contains(secret), "\(path) reveals \(secret): \(body)")
                    }
                }
            }
            try await client.execute(uri: "/fine", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[ErrorMiddleware<AppRequestContext>.requestIDHeader]?.isEmpty == false)
            }
        }
    }
}

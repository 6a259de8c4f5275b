@testable import API
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Store
import TestSupport
import Testing

/// A response as the tests look at it.
struct TestResponse {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data

    /// The body as a JSON object; throws `UnexpectedBody` if it is not one.
    var json: [String: Any] { get throws { try bodyJSONObject(body, status: Int(status.code)) } }

    /// The body as a JSON array of objects; throws `UnexpectedBody` if it is not one.
    var jsonArray: [[String: Any]] { get throws { try bodyJSONArray(body, status: Int(status.code)) } }

    var message: String? { get throws { try json["message"] as? String } }

    /// Field names of the validation entries, in order.
    var validationFields: [String] {
        get throws { (try json["validations"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } }
    }
}

struct TestClient: Sendable {
    let client: any TestClientProtocol

    func request(
        _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, rawBody: String? = nil,
        token: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let token { headers[HTTPField.Name("Coder-Session-Token")!] = token }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        } else if let rawBody {
            body = ByteBuffer(string: rawBody)
            headers[.contentType] = "application/json"
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: body) { response in
            TestResponse(status: response.status, headers: response.headers, body: Data(buffer: response.body))
        }
    }

    static let ownerPassword = "Sup3r-Secret-Passw0rd!"

    /// Creates the first user and logs in; returns (token, user id, organization id).
    func setUpOwner(email: String = "owner@example.com", username: String = "owner") async throws -> (token: String, userID: UUID, organizationID: UUID) {
        let created = try await request(.post, "/api/v2/users/first", json: ["email": email, "username": username, "password": Self.ownerPassword])
        try #require(created.status == .created)
        let userID = try #require(UUID(uuidString: try created.json["user_id"] as? String ?? ""))
        let organizationID = try #require(UUID(uuidString: try created.json["organization_id"] as? String ?? ""))
        return (try await login(email, Self.ownerPassword), userID, organizationID)
    }

    func login(_ email: String, _ password: String) async throws -> String {
        let response = try await request(.post, "/api/v2/users/login", json: ["email": email, "password": password])
        try #require(response.status == .created)
        return try #require(try response.json["session_token"] as? String)
    }

    /// Creates a member of `organizationID` as `token`'s user and logs them in.
    func createMember(_ username: String, organizationID: UUID, token: String, password: String = "An0ther-Passw0rd!") async throws -> (token: String, id: UUID) {
        let created = try await request(.post, "/api/v2/users", json: [
            "email": "\(username)@example.com", "username": username, "password": password,
            "organization_id": organizationID.uuidString,
        ], token: token)
        try #require(created.status == .created)
        let id = try #require(UUID(uuidString: try created.json["id"] as? String ?? ""))
        return (try await login("\(username)@example.com", password), id)
    }
}

/// Runs `body` with a store on a fresh, migrated database, and closes its pool once `body` has
/// returned or thrown, before the test goes on.
func withMigratedStore<T>(_ body: (TestDatabase, Store) async throws -> T) async throws -> T {
    let (database, store) = try await migratedStore()
    do {
        let result = try await body(database, store)
        await store.pool.close()
        return result
    } catch {
        await store.pool.close()
        throw error
    }
}

/// A store on a fresh, migrated database (a copy of the migrated template); the caller closes its pool.
func migratedStore() async throws -> (database: TestDatabase, store: Store) {
    let database = try await TestDatabase.createMigrated()
    let store = Store(pool: DatabasePool(.init(connectionString: database.url, maximumConnections: 4)))
    return (database, store)
}

let testLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return logger
}()

/// Runs `body` against a router on a fresh, migrated database. `features`: which licensed
/// features are enabled (default: every one, the audit log too). `passwordHashing`: the cost
/// passwords are hashed at, the test-only one unless a test asserts production's (`.current`).
func withApp(
    features: (any FeatureProvider)? = nil, passwordHashing: Passwords.Parameters = .testCost,
    _ body: @escaping @Sendable (TestClient, Store) async throws -> Void
) async throws {
    let (_, store) = try await migratedStore()
    let (pool, logger) = (store.pool, testLogger)
    var configuration = APIServer.Configuration(version: "test", accessURL: "http://localhost")
    configuration.passwordHashing = passwordHashing
    let router = APIServer(store: store, configuration: configuration, features: features).makeRouter()
    let app = Application(router: router, logger: logger)
    do {
        try await app.test(.router) { client in
            try await body(TestClient(client: client), store)
        }
        await pool.close()
    } catch {
        await pool.close()
        throw error
    }
}

import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Licensing
import Postgres
import Provisioning
import Pubsub
import Replicas
import Store
import Testing
import WebSocket
@testable import API

/// The OpenAPI document (Sources/API/OpenAPI/openapi.json, served at /api/v2/openapi.json)
/// describes exactly the routes the server has: a route added without its documentation, or
/// documentation of a route that is gone, fails here. schemathesis (scripts/openapi-check) checks
/// the answers against it.
@Suite struct OpenAPIDocumentTests {
    static var document: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(OpenAPIController.json.utf8))) as? [String: Any] ?? [:]
    }

    @Test func theEmbeddedDocumentIsTheEditedJSON() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/API/OpenAPI/openapi.json").standardizedFileURL
        let edited = try String(contentsOf: url, encoding: .utf8)
        #expect(edited.trimmingCharacters(in: .newlines) == OpenAPIController.json, "the served document is not the file: the EmbedResourcesPlugin did not run")
        #expect(Self.document["openapi"] as? String == "3.1.0")
    }

    /// Every route of a replica with everything switched on (replicas, daemons, licensing, SCIM).
    static func allRoutes() async throws -> Set<String> {
        try await withMigratedStore { database, store in
            let pubsub = Pubsub(listener: Listener(.init(connectionString: database.url)), pool: store.pool)
            let membership = ReplicaMembership(
                configuration: ReplicaConfiguration(hostname: "test", version: "test"), store: store, lockConnectionString: database.url, pubsub: pubsub
            )
            let provisioners = ProvisionerServices(
                acquirer: JobAcquirer(store: store, pubsub: pubsub), connections: DaemonConnections(store: store, pubsub: pubsub), pubsub: pubsub,
                replicaID: UUID(), preSharedKey: "psk", webSocket: WebSocketConfiguration()
            )
            let entitlements = LiveEntitlements(configuration: .init(enablements: [:]), verifier: LicenseVerifier(keyRing: LicenseKeyRing()), store: store)
            let licensing = LicensingServices(
                entitlements: entitlements, appearance: LiveAppearance(store: store), deploymentID: UUID(),
                trialIssuer: LicenseIssuer(privateKey: Curve25519.Signing.PrivateKey(), keyID: "trial")
            )
            let server = APIServer(
                store: store, configuration: .init(version: "test", accessURL: "http://localhost", scimKey: "key"), pubsub: pubsub,
                membership: membership, provisioners: provisioners, licensing: licensing
            )
            return Set(server.makeRouter().routes.map { route in
                var path = route.path.description
                if !path.hasPrefix("/") { path = "/" + path }
                if path.count > 1 && path.hasSuffix("/") { path.removeLast() }
                return "\(route.method.rawValue) \(path)"
            })
        }
    }

    static var documentedOperations: Set<String> {
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        var operations: Set<String> = []
        for (path, item) in paths {
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] where item[method] != nil {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() async throws {
        let routes = try await Self.allRoutes()
        let documented = Self.documentedOperations
        #expect(routes.count > 100, "the router lists \(routes.count) routes")
        let undocumented = routes.subtracting(documented).sorted()
        #expect(undocumented.isEmpty, "routes the OpenAPI document does not describe: \(undocumented)")
        let phantom = documented.subtracting(routes).sorted()
        #expect(phantom.isEmpty, "documented operations no route serves: \(phantom)")
    }

    @Test func theDocumentIsServedWithoutAuthentication() async throws {
        try await withLicensedApp { client, _, _ in
            let response = try await client.request(.get, "/api/v2/openapi.json")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(try response.json["openapi"] as? String == "3.1.0")
            #expect(try (response.json["paths"] as? [String: Any])?["/api/v2/openapi.json"] != nil)
        }
    }
}

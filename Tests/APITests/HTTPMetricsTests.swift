import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Telemetry
import Testing
@testable import API

/// What a hostile client can put into the metrics' labels: nothing of its own.
@Suite struct HTTPMetricsTests {
    @Test func labelsStayBoundedWhateverClientsAndPeersSend() async throws {
        try await withMigratedStore { _, store in
            let metrics = CoordinatorMetrics()
            let router = APIServer(store: store, configuration: .init(version: "test", accessURL: "http://localhost"), metrics: metrics).makeRouter()
            let id = UUID().uuidString.lowercased()
            try await Application(router: router, logger: testLogger).test(.router) { client in
                let client = TestClient(client: client)
                _ = try await client.request(HTTPRequest.Method("FOOBAR")!, "/api/v2/users/\(id)")
                _ = try await client.request(.get, "/api/v2/users/\(id)")
                _ = try await client.request(.get, "/no/such/\(id)")
            }
            metrics.webSocketClosed(code: 4321)
            metrics.webSocketClosed(code: 1001)
            let body = metrics.registry.emitToString()
            #expect(body.contains(#"method="OTHER""#))
            #expect(!body.contains("FOOBAR"))
            #expect(body.contains(#"route="/api/v2/users/{user}""#), "\(body)")
            #expect(body.contains(#"route="NotFound""#), "the router's own 404s carry Hummingbird's NotFound pattern")
            #expect(!body.contains(id), "a raw path reached a label")
            #expect(body.contains(#"coordinator_websocket_closes_total{code="other"} 1"#))
            #expect(body.contains(#"coordinator_websocket_closes_total{code="1001"} 1"#))
            // The label, not the text: a duration in the body (0.0004321…) may contain the digits.
            #expect(!body.contains(#"code="4321""#))
        }
    }
}

import Foundation
import TestSupport
import Testing

/// `--log-format json`: every line a replica writes is one JSON object with its time, level,
/// message and replica id; lines of a request carry its id, the one `X-Request-Id` answered.
@Suite struct JSONLogTests {
    @Test func everyLineIsOneJSONObjectWithTheReplicaAndRequestIDs() async throws {
        let db = try await TestDatabase.create()
        let port = try freePort()
        let server = try CoordinatorProcess(["server", "--postgres-url", db.url, "--http-address", "127.0.0.1:\(port)", "--log-format", "json", "--log-level", "debug"])
        try await eventually("server up", timeout: .seconds(60)) {
            (try? await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz"))?.status == 200
        }
        let missing = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/api/v2/users/me")
        #expect(missing.status == 401)
        let requestID = try #require(missing.headers.first(name: "X-Request-Id"))
        try await eventually("the request's lines written", timeout: .seconds(10)) { server.log.contains(requestID) }
        server.signal(SIGTERM)
        _ = try await server.waitForExit()
        let lines = server.log.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count > 3)
        var replicaIDs = Set<String>()
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not one JSON object: \(line.prefix(200))")
            #expect(object["time"] is String && object["level"] is String && object["message"] is String)
            if let id = object["replica_id"] as? String { replicaIDs.insert(id) }
        }
        #expect(replicaIDs.count == 1 && UUID(uuidString: replicaIDs.first ?? "") != nil)
        let ofRequest = lines.filter { $0.contains(requestID) }
        #expect(!ofRequest.isEmpty)
        #expect(ofRequest.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["request_id"] as? String == requestID })
    }

    @Test func anUnknownFormatStopsTheServerNamingTheFlag() async throws {
        let server = try CoordinatorProcess(["server", "--postgres-url", "postgres://127.0.0.1:1/x", "--log-format", "xml"])
        #expect(try await server.waitForExit() != 0)
        #expect(server.log.contains("--log-format must be human or json"))
    }
}

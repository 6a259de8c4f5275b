import Foundation
@testable import Replicas
import Store
import Testing

@Suite struct ReplicaRulesTests {
    func replica(_ name: String, created: TimeInterval, error: String = "") -> Replica {
        Replica(id: UUID(), createdAt: Date(timeIntervalSince1970: created), startedAt: Date(timeIntervalSince1970: created),
                updatedAt: Date(), hostname: name, regionID: 1, relayAddress: "http://\(name):80", version: "v", databaseLatency: 100, error: error)
    }

    @Test func ownEntryIsAlwaysPresentAndCarriesItsCurrentError() {
        let a = replica("a", created: 1), b = replica("b", created: 2)
        var me = replica("me", created: 3)
        // The database does not list us (it is unreachable, or our lock is being re-taken).
        #expect(ReplicaSnapshot.merge(database: [b, a], me: me).map(\.hostname) == ["a", "b", "me"])
        // The database lists us with an older error: ours wins.
        var stale = me
        stale.error = "old"
        me.error = "new"
        let merged = ReplicaSnapshot.merge(database: [a, stale], me: me)
        #expect(merged.count == 2)
        #expect(merged.last?.error == "new")
    }

    @Test func relayErrorsUseCodersWordingInAStableOrder() {
        #expect(ReplicaErrors.relayText(failures: []) == "")
        let text = ReplicaErrors.relayText(failures: [
            ("zeta", "http://10.0.0.2:80", "timed out"),
            ("alpha", "http://10.0.0.1:80", "connection refused"),
        ])
        #expect(text == "Failed to dial peers: relay alpha (http://10.0.0.1:80): connection refused, relay zeta (http://10.0.0.2:80): timed out")
    }

    @Test func errorsCombineTheirSources() {
        var errors = ReplicaErrors()
        #expect(errors.text == "")
        errors.relay = "Failed to dial peers: x"
        errors.database = "Database unreachable: y"
        #expect(errors.text == "Database unreachable: y; Failed to dial peers: x")
    }

    @Test func configurationValidation() {
        #expect(throws: Never.self) { try ReplicaConfiguration(hostname: "h", relayAddress: "https://r.example:8443", version: "v").validate() }
        #expect(throws: Never.self) { try ReplicaConfiguration(hostname: "h", relayAddress: "", version: "v").validate() }
        #expect(throws: ReplicaConfigurationError.self) { try ReplicaConfiguration(hostname: "h", relayAddress: "r.example:80", version: "v").validate() }
        #expect(throws: ReplicaConfigurationError.self) { try ReplicaConfiguration(hostname: "h", relayAddress: "ftp://r", version: "v").validate() }
        #expect(throws: ReplicaConfigurationError.self) { try ReplicaConfiguration(hostname: "h", version: "v", heartbeatInterval: .zero).validate() }
    }
}

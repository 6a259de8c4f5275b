import AsyncHTTPClient
import Foundation
import NIOCore
import Store

/// Probes peers' relay addresses at `/derp/latency-check`, all at once, each with a timeout.
struct RelayProber: Sendable {
    let timeout: Duration

    /// The failed peers with a short reason each; empty when every peer answered 2xx.
    func probe(_ peers: [Replica]) async -> [(hostname: String, address: String, error: String)] {
        await withTaskGroup(of: (String, String, String)?.self) { group in
            for peer in peers {
                group.addTask { await probe(peer) }
            }
            var failures: [(hostname: String, address: String, error: String)] = []
            for await failure in group {
                if let failure { failures.append((failure.0, failure.1, failure.2)) }
            }
            return failures
        }
    }

    private func probe(_ peer: Replica) async -> (String, String, String)? {
        let base = peer.relayAddress.hasSuffix("/") ? String(peer.relayAddress.dropLast()) : peer.relayAddress
        let request = HTTPClientRequest(url: base + "/derp/latency-check")
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else {
                return (peer.hostname, peer.relayAddress, "unexpected status code \(response.status.code)")
            }
            return nil
        } catch {
            return (peer.hostname, peer.relayAddress, Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "timed out" }
        }
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    }
}

import WebSocket

/// The text messages of a connection; a binary message ends it (the protocol is text only).
struct DaemonTexts: AsyncSequence, Sendable {
    struct BinaryMessage: Error, Equatable {}
    typealias Element = String
    let inbound: WebSocketInbound

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: WebSocketInbound.AsyncIterator
        mutating func next() async throws -> String? {
            switch try await base.next() {
            case .text(let text): return text
            case .binary: throw BinaryMessage()
            case nil: return nil
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: inbound.makeAsyncIterator()) }
}

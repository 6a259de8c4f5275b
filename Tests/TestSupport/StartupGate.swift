/// Bounds how many server processes of this test run start at once. Every suite runs in
/// parallel; thirty replicas migrating fresh databases on one PostgreSQL at the same instant
/// on two cores took over a minute each, while a few at a time take seconds. Only the start is
/// bounded (until the server answers), never a running server, so a test that needs several
/// replicas cannot wait on itself.
public actor StartupGate {
    public static let shared = StartupGate(limit: 3)

    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(limit: Int) { self.limit = limit }

    public func withStart<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if running < limit {
            running += 1
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
        defer { release() }
        return try await body()
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

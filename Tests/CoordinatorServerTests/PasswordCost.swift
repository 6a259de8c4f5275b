@testable import API

extension Passwords.Parameters {
    /// Production's algorithm and sizes at a fraction of its rounds: what the servers these tests
    /// start in-process hash at (`InProcessServer.configuration`). Only a `@testable` import can
    /// make it; the executable always runs at `.current`.
    static let testCost = Passwords.Parameters(rounds: 1_000, saltBytes: 16, keyBytes: 32)
}

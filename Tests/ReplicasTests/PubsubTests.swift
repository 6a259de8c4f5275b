import Foundation
import Postgres
import Pubsub
import TestSupport
import Testing

@Suite struct PubsubTests {
    // Bounded as a whole: the reads below wait for events, and must not wait forever if one never comes.
    @Test(.timeLimit(.minutes(1))) func subscribersGetTheirChannelInOrderAndResyncAfterReconnect() async throws {
        let db = try await TestDatabase.create()
        let pool = DatabasePool(.init(connectionString: db.url))
        let listener = Listener(.init(connectionString: db.url, initialBackoff: .milliseconds(20)))
        let pubsub = Pubsub(listener: listener, pool: pool)
        let runner = Task { await pubsub.run() }
        defer { runner.cancel() }

        var a = pubsub.subscribe("a").makeAsyncIterator()
        var b = pubsub.subscribe("b").makeAsyncIterator()
        try await eventually("connected") { pubsub.isConnected }
        // The first connection is announced as a resync too (state may predate the subscription).
        // Publish probes until one comes back (the LISTEN is then in effect), then check order.
        let prober = Task {
            while !Task.isCancelled {
                try? await pubsub.publish("a", "probe")
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        // Each wait ends with the stream (nil) when the time limit cancels the test: the loops
        // must not spin on nil.
        var first = await a.next()
        while first != .message("probe") { first = try Self.live(await a.next()) }
        prober.cancel()
        await prober.value
        // Drain duplicate probes that may still be queued.
        for i in 0..<50 { try await pubsub.publish("a", "\(i)") }
        try await pubsub.publish("b", "only-b")
        var received: [String] = []
        while received.count < 50 {
            if case .message(let payload) = try Self.live(await a.next()), payload != "probe" { received.append(payload) }
        }
        #expect(received == (0..<50).map(String.init))
        var bEvent = await b.next()
        while bEvent == .resync { bEvent = try Self.live(await b.next()) }
        #expect(bEvent == .message("only-b"))

        _ = try await TestDatabase.admin("SELECT pg_terminate_backend($1)", [listener.backendPID])
        var sawResync = false
        while !sawResync { sawResync = try Self.live(await a.next()) == .resync }
        try await eventually("reconnected") { pubsub.isConnected }
        try await pubsub.publish("a", "after")
        var after = await a.next()
        while after == .resync || after == .message("probe") { after = try Self.live(await a.next()) }
        #expect(after == .message("after"))
        await pool.close()
    }

    /// The event, or a failure when the stream ended (the test was cancelled, pubsub stopped).
    static func live(_ event: PubsubEvent?) throws -> PubsubEvent {
        guard let event else { throw TestSetupError("the subscription ended before the expected event") }
        return event
    }

    @Test func selfTestReportsADeafPubsub() async throws {
        // Publishing to one database while listening on another: NOTIFY never comes back, which is
        // what a PgBouncer in transaction mode does to LISTEN.
        let listened = try await TestDatabase.create()
        let published = try await TestDatabase.create()
        let pool = DatabasePool(.init(connectionString: published.url))
        let clock = ManualClock()
        let pubsub = Pubsub(
            listener: Listener(.init(connectionString: listened.url)), pool: pool,
            selfTest: .init(interval: .seconds(2), bound: .seconds(5)), clock: clock
        )
        let runner = Task { await pubsub.run() }
        defer { runner.cancel() }
        // Each look that finds it not broken yet moves the clock on (the connection's arrival
        // restarts the judgement, whenever it comes); the exact bound is PubsubSelfTestTests'.
        try await eventually("deafness detected") {
            if pubsub.selfTest.isBroken { return true }
            clock.advance(.seconds(1))
            return false
        }
        guard case .broken(let reason) = pubsub.selfTest.health else { Issue.record("not broken"); return }
        #expect(reason.contains("no NOTIFY round trip"))
        await pool.close()
    }

    @Test func selfTestIsHealthyWhenNotificationsFlow() async throws {
        let db = try await TestDatabase.create()
        let pool = DatabasePool(.init(connectionString: db.url))
        let clock = ManualClock()
        let interval = Duration.seconds(2)
        // A bound far beyond what the clock moves here: however slow the machine, an answer counts.
        let pubsub = Pubsub(
            listener: Listener(.init(connectionString: db.url)), pool: pool,
            selfTest: .init(interval: interval, bound: .seconds(3600)), clock: clock
        )
        let runner = Task { await pubsub.run() }
        defer { runner.cancel() }
        // A probe sent before the LISTEN took effect is lost: each look that finds no round trip
        // yet moves the clock on, which sends another.
        try await eventually("round trip measured") {
            if case .healthy = pubsub.selfTest.health { return true }
            try await clock.waitForSleepers()
            clock.advance(interval)
            return false
        }
        await pool.close()
    }
}

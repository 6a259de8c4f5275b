import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct ListenerTests {
    @Test func deliversNotificationsAndRecoversAfterItsBackendIsKilled() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await withListener(.init(connectionString: db.url, initialBackoff: .milliseconds(20))) { listener in
                var events = listener.subscribe().makeAsyncIterator()
                listener.listen("jobs")
                listener.start()
                #expect(await events.next() == .resync)

                try await pool.query("SELECT pg_notify('jobs', 'one')")
                try await pool.query("SELECT pg_notify('other', 'ignored')")
                try await pool.query("SELECT pg_notify('jobs', 'two')")
                #expect(await events.next() == .notification(channel: "jobs", payload: "one"))
                #expect(await events.next() == .notification(channel: "jobs", payload: "two"))

                // A channel added while running is listened to at once.
                listener.listen("late")
                try await eventually("LISTEN late applied") {
                    let last = try await TestDatabase.admin("SELECT query FROM pg_stat_activity WHERE pid = $1", [listener.backendPID])
                    return try last.first?.decode(0, as: String.self) == "LISTEN \"late\""
                }
                try await pool.query("SELECT pg_notify('late', 'hello')")
                #expect(await events.next() == .notification(channel: "late", payload: "hello"))

                let pid = listener.backendPID
                #expect(pid != 0)
                _ = try await TestDatabase.admin("SELECT pg_terminate_backend($1)", [pid])
                #expect(await events.next() == .resync)
                #expect(listener.backendPID != pid)
                // Every channel was listened to again.
                try await pool.query("SELECT pg_notify('jobs', 'three')")
                try await pool.query("SELECT pg_notify('late', 'four')")
                #expect(await events.next() == .notification(channel: "jobs", payload: "three"))
                #expect(await events.next() == .notification(channel: "late", payload: "four"))
            }
        }
    }

    @Test func stopFinishesSubscribers() async throws {
        let db = try await TestDatabase.create()
        let listener = Listener(.init(connectionString: db.url))
        let stream = listener.subscribe()
        listener.start()
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next() == .resync)
        await listener.stop()
        #expect(await iterator.next() == nil)
    }

    @Test func aSlowSubscriberIsToldToResync() async throws {
        let db = try await TestDatabase.create()
        try await withPool(.init(connectionString: db.url)) { pool in
            try await withListener(.init(connectionString: db.url)) { listener in
                let stream = listener.subscribe(bufferSize: 4)
                // A subscriber with room for all: once it has the last one, so has the slow one's buffer.
                var roomy = listener.subscribe(bufferSize: 1000).makeAsyncIterator()
                listener.listen("burst")
                listener.start()
                try await eventually("connected") { listener.isConnected }
                try await pool.query("SELECT pg_notify('burst', g::text) FROM generate_series(1, 100) g")
                while let event = await roomy.next(), event != .notification(channel: "burst", payload: "100") {}
                var sawResyncAfterDrop = false
                var received: [String] = []
                for await event in stream {
                    switch event {
                    case .resync: if !received.isEmpty { sawResyncAfterDrop = true }
                    case .notification(_, let payload): received.append(payload)
                    }
                    if sawResyncAfterDrop || received.last == "100" { break }
                }
                #expect(received.count < 100)
                #expect(sawResyncAfterDrop || received.last == "100")
            }
        }
    }
}

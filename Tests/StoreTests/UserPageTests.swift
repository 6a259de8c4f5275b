import Foundation
import Store
import Testing

/// `users(search:status:page:)`: limit, offset and Coder's `after_id` cursor, all in SQL.
@Suite struct UserPageTests {
    @Test func pagesFollowCreationOrderAndTheCursor() async throws {
        try await withStore { store, _ in
            var users: [User] = []
            for name in ["ann", "bob", "cid", "dee", "eve"] { users.append(try await store.makeUser(name)) }
            let all = try await store.users(search: nil, status: nil, page: Page())
            #expect(all.map(\.username) == ["ann", "bob", "cid", "dee", "eve"])

            #expect(try await store.users(search: nil, status: nil, page: Page(limit: 2)).map(\.username) == ["ann", "bob"])
            #expect(try await store.users(search: nil, status: nil, page: Page(limit: 2, offset: 2)).map(\.username) == ["cid", "dee"])
            #expect(try await store.users(search: nil, status: nil, page: Page(limit: 2, afterID: users[1].id)).map(\.username) == ["cid", "dee"])
            // The cursor first, then the offset.
            #expect(try await store.users(search: nil, status: nil, page: Page(limit: 1, offset: 1, afterID: users[1].id)).map(\.username) == ["dee"])
            #expect(try await store.users(search: nil, status: nil, page: Page(afterID: users[4].id)) == [])
            // An id that names no user gives an empty page, as in Coder.
            #expect(try await store.users(search: nil, status: nil, page: Page(afterID: UUID())) == [])
            #expect(try await store.users(search: nil, status: nil, page: Page(limit: 0)) == [])

            // The old form is the same query.
            #expect(try await store.users(search: nil, status: nil, limit: 3, offset: 1) == Array(all[1...3]))
            #expect(try await store.users(search: nil, status: nil, limit: nil, offset: 0) == all)
        }
    }

    @Test func theCursorNeedNotMatchTheFilter() async throws {
        try await withStore { store, _ in
            let ann = try await store.makeUser("ann")
            let bob = try await store.makeUser("bob")
            let carl = try await store.makeUser("carl")
            _ = try await store.setUserStatus(id: carl.id, .suspended)
            _ = try await store.makeUser("dan")
            // Only ann and dan have an "n" (the emails have none but theirs); bob is still a cursor.
            #expect(try await store.users(search: "n", status: nil, page: Page()).map(\.username) == ["ann", "dan"])
            #expect(try await store.users(search: "n", status: nil, page: Page(afterID: bob.id)).map(\.username) == ["dan"])
            #expect(try await store.users(search: nil, status: .active, page: Page(afterID: ann.id)).map(\.username) == ["bob", "dan"])
            #expect(try await store.users(search: nil, status: .suspended, page: Page(afterID: bob.id)).map(\.username) == ["carl"])
        }
    }
}

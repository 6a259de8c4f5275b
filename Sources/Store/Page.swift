import Foundation

/// Which slice of a list a request wants, pushed down into SQL: `limit` rows (all when nil)
/// after skipping `offset`, starting after the row `afterID` in the list's order when given.
public struct Page: Sendable, Equatable {
    public var limit: Int?
    public var offset: Int
    public var afterID: UUID?

    public init(limit: Int? = nil, offset: Int = 0, afterID: UUID? = nil) {
        self.limit = limit
        self.offset = offset
        self.afterID = afterID
    }
}

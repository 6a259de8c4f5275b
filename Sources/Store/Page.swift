import Foundation

/// Which part of a list to return, pushed into SQL. Rows come in the list's own order (users:
/// creation time, then id); `afterID` keeps only the rows after the row with that id (a cursor
/// that stays put while rows are added, as Coder's `after_id`), and an id that names no row gives
/// an empty page, as in Coder. `offset` then skips rows, and `limit` caps the rest (nil: no cap;
/// Coder's `limit=0` means nil here).
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

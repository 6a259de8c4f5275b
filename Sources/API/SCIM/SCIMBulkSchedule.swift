import HeapModule

/// The order in which a `/Bulk` request's operations run (RFC 7644 §3.7.2), sans I/O: a graph of
/// `bulkId` references, walked as Kahn's algorithm walks one, in time linear in the operations
/// and their references (plus a logarithm for picking the lowest index).
///
/// The order is that of passes over the request: each pass runs, in index order, every
/// operation whose references are all resolved by then, including those resolved by an earlier
/// operation of the same pass; one resolved only by a later operation waits for the next pass.
/// An operation runs once every POST it names (by `bulkId:`) has created its resource; it fails
/// (`Step.fail`) as soon as one of them has failed, or at once if it names a bulkId no POST of
/// the request has. One that waits, in the end, for an operation that itself waits is part of
/// or behind a cycle: `unresolved`.
///
/// Each operation's references are found by one scan of its data (`SCIMBulkController.references(in:)`);
/// the set of bulkIds is built once. `steps` counts the work (an operation scheduled, handed out,
/// or told that one it waits for is done) and `passes` the passes, for tests.
struct SCIMBulkSchedule: Sendable {
    enum Step: Sendable, Equatable {
        /// Run the operation at this index.
        case run(Int)
        /// Answer the operation at this index with an error: `bulkID`, which it refers to, names
        /// no POST of the request, or one that failed.
        case fail(Int, bulkID: String)
    }

    private enum State: Sendable { case waiting, scheduled, done }

    /// For each operation, how many POSTs it waits for (distinct bulkIds it names, each defined
    /// by another POST of the request, not yet done).
    private var waitingFor: [Int]
    /// For each POST, the operations that name its bulkId.
    private var dependents: [[Int]]
    /// For each operation, the first unknown or failed bulkId it names: it fails when handed out.
    private var blockedBy: [String?]
    private var bulkIDs: [String?]
    private var state: [State]
    /// The pass under way (operations after `cursor`) and the next one.
    private var current = Heap<Int>()
    private var following = Heap<Int>()
    private var cursor = -1

    private(set) var steps = 0
    private(set) var passes = 0

    init(_ operations: [SCIMBulkController.Operation]) {
        let count = operations.count
        waitingFor = Array(repeating: 0, count: count)
        dependents = Array(repeating: [], count: count)
        blockedBy = Array(repeating: nil, count: count)
        state = Array(repeating: .waiting, count: count)
        // Only a POST creates what a bulkId names (and `parse` makes POSTs' bulkIds unique).
        let defined: [String?] = operations.map { $0.method == .post ? $0.bulkID : nil }
        bulkIDs = defined
        var definer: [String: Int] = [:]
        for (index, bulkID) in defined.enumerated() {
            if let bulkID { definer[bulkID] = index }
        }
        for (index, operation) in operations.enumerated() {
            // Sorted: which unknown bulkId an error names does not depend on a set's order.
            for reference in SCIMBulkController.references(in: operation).sorted() {
                steps += 1
                guard let source = definer[reference] else {
                    if blockedBy[index] == nil { blockedBy[index] = reference }
                    continue
                }
                waitingFor[index] += 1
                // Naming its own bulkId, an operation waits for ever: a cycle of one.
                if source != index { dependents[source].append(index) }
            }
            if blockedBy[index] != nil || waitingFor[index] == 0 { schedule(index) }
        }
        if count > 0 { passes = 1 }
    }

    /// The next operation to run or to fail; nil when none is left that can (those left are
    /// `unresolved`). Between two calls, the caller says how the last one went (`finished`).
    mutating func next() -> Step? {
        while true {
            if let index = current.popMin() {
                steps += 1
                cursor = index
                state[index] = .done
                if let bulkID = blockedBy[index] { return .fail(index, bulkID: bulkID) }
                return .run(index)
            }
            guard !following.isEmpty else { return nil }
            // This pass is over (its heap is empty): the next one begins.
            current = following
            following = Heap<Int>()
            cursor = -1
            passes += 1
        }
    }

    /// The operation at `index` is done: a POST that `created` its resource lets those waiting
    /// for it run once nothing else holds them; one that did not makes them fail.
    mutating func finished(_ index: Int, created: Bool) {
        guard let bulkID = bulkIDs[index] else { return }
        for dependent in dependents[index] where state[dependent] == .waiting {
            steps += 1
            if created {
                waitingFor[dependent] -= 1
                if waitingFor[dependent] == 0 { schedule(dependent) }
            } else {
                blockedBy[dependent] = bulkID
                schedule(dependent)
            }
        }
        dependents[index] = []
    }

    /// The operations that can never run: each waits, directly or not, for a cycle.
    var unresolved: [Int] {
        state.indices.filter { state[$0] == .waiting }
    }

    /// Into this pass if the operation comes after the one just handed out, else the next.
    private mutating func schedule(_ index: Int) {
        steps += 1
        state[index] = .scheduled
        if index > cursor { current.insert(index) } else { following.insert(index) }
    }
}

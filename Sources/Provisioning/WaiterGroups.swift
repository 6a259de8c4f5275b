import Foundation

/// Idle daemons waiting for a job, grouped by what they can run (organization, provisioner types,
/// tags). A posted job wakes one waiter of each group that can run it, not every waiter: ten
/// thousand idle daemons with the same tags are one group, and a post costs one acquisition
/// attempt per group, not ten thousand. Pure state; `JobAcquirer` drives it.
public struct WaiterGroups<Waiter>: Sendable where Waiter: Sendable {
    public struct Key: Hashable, Sendable {
        public let organizationID: UUID
        public let provisioners: [String]
        public let tags: [String: String]

        public init(organizationID: UUID, provisioners: [String], tags: [String: String]) {
            self.organizationID = organizationID
            self.provisioners = provisioners.sorted()
            self.tags = tags
        }

        func canRun(organizationID: UUID, provisioner: String, tags jobTags: [String: String]) -> Bool {
            self.organizationID == organizationID && provisioners.contains(provisioner)
                && ProvisionerTags.contains(daemon: tags, job: jobTags)
        }
    }

    private var groups: [Key: [(id: UInt64, waiter: Waiter)]] = [:]

    public init() {}

    public var count: Int { groups.values.reduce(0) { $0 + $1.count } }
    public var groupCount: Int { groups.count }

    public mutating func add(_ waiter: Waiter, id: UInt64, key: Key) {
        groups[key, default: []].append((id, waiter))
    }

    public mutating func remove(id: UInt64, key: Key) -> Waiter? {
        guard let index = groups[key]?.firstIndex(where: { $0.id == id }) else { return nil }
        let waiter = groups[key]!.remove(at: index).waiter
        if groups[key]!.isEmpty { groups[key] = nil }
        return waiter
    }

    /// Takes the longest-waiting waiter of every group that can run such a job.
    public mutating func takeOneEach(organizationID: UUID, provisioner: String, tags: [String: String]) -> [Waiter] {
        let keys = groups.keys.filter { $0.canRun(organizationID: organizationID, provisioner: provisioner, tags: tags) }
        return keys.compactMap { takeFirst(of: $0) }
    }

    /// Takes the longest-waiting waiter of every group (after a resync or on the backup poll).
    public mutating func takeOneOfEveryGroup() -> [Waiter] {
        Array(groups.keys).compactMap { takeFirst(of: $0) }
    }

    public mutating func takeFirst(of key: Key) -> Waiter? {
        guard var list = groups[key], !list.isEmpty else { return nil }
        let first = list.removeFirst()
        groups[key] = list.isEmpty ? nil : list
        return first.waiter
    }

    public mutating func takeAll() -> [Waiter] {
        defer { groups.removeAll() }
        return groups.values.flatMap { $0.map(\.waiter) }
    }
}

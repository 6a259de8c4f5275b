import Foundation

public struct ReplicaConfiguration: Sendable {
    public var id: UUID
    public var hostname: String
    public var regionID: Int32
    /// An http(s) URL at which peers reach this replica's `/derp/latency-check`; empty for none.
    public var relayAddress: String
    public var version: String
    public var heartbeatInterval: Duration
    /// How often the live set is re-read when no NOTIFY arrives (the backup poll). Also bounds
    /// how long a crashed peer (its liveness lock released) stays listed.
    public var pollInterval: Duration
    /// Rows of replicas silent for this long are deleted.
    public var retention: Duration
    public var probeTimeout: Duration

    public init(
        id: UUID = UUID(), hostname: String, regionID: Int32 = 0, relayAddress: String = "", version: String,
        heartbeatInterval: Duration = .seconds(1), pollInterval: Duration = .milliseconds(250),
        retention: Duration = .seconds(24 * 3600), probeTimeout: Duration = .seconds(3)
    ) {
        self.id = id
        self.hostname = hostname
        self.regionID = regionID
        self.relayAddress = relayAddress
        self.version = version
        self.heartbeatInterval = heartbeatInterval
        self.pollInterval = pollInterval
        self.retention = retention
        self.probeTimeout = probeTimeout
    }

    /// Checks what the command line gave; the message is one line for the user.
    public func validate() throws(ReplicaConfigurationError) {
        if !relayAddress.isEmpty {
            guard let url = URL(string: relayAddress), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  let host = url.host, !host.isEmpty
            else { throw ReplicaConfigurationError("--relay-address must be an http or https URL, not \"\(relayAddress)\"") }
        }
        for (name, value) in [("--heartbeat-interval", heartbeatInterval), ("--replica-poll-interval", pollInterval), ("--replica-retention", retention)] where value <= .zero {
            throw ReplicaConfigurationError("\(name) must be positive")
        }
    }
}

public struct ReplicaConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

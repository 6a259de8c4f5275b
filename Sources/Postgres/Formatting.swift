extension Duration {
    /// Whole milliseconds, as SQL intervals and heartbeat rows take them.
    public var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

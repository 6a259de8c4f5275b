/// An error as one line: libpq messages span several lines, and logs and start-up failures want one.
public func oneLine(_ error: any Error) -> String {
    String(describing: error).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
}

extension Duration {
    /// Whole milliseconds, as SQL intervals and heartbeat rows take them.
    public var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

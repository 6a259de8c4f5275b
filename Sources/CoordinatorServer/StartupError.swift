/// A failure at start that the user can act on; the executable prints it as one line.
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

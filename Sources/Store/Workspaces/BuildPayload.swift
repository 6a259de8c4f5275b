import Foundation

/// What a build job carries to its daemon besides the archive: the transition, the state of the
/// last build before it that has one, and the workspace as a template sees it.
public struct BuildPayload: Sendable, Equatable {
    public var transition: String?
    public var state: [UInt8]?
    public var workspaceID: UUID
    public var workspaceName: String
    /// The owner's username and email.
    public var owner: String
    public var ownerEmail: String
}

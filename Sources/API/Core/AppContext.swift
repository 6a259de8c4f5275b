import Hummingbird
import Logging

/// Per-request state: who is asking, once the authentication middleware has run.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var subject: Subject?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// The authenticated subject; only call behind `RequireAuthentication`.
    func requireSubject() throws -> Subject {
        guard let subject else { throw APIError.signedOut }
        return subject
    }
}

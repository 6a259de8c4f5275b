import Store

extension GroupChangeError: APIErrorConvertible {
    /// Coder's answers to a PATCH's member changes. The PATCH handler words
    /// `notOrganizationMember` itself, with the organization's name; this is its answer elsewhere.
    var apiError: APIError {
        switch self {
        case .notOrganizationMember:
            return APIError(.badRequest, "User must be a member of the group's organization")
        case .alreadyMember:
            return APIError(.badRequest, "Cannot add the same user to a group twice!")
        case .notMember:
            return APIError(.badRequest, "Failed to add or remove non-existent group member")
        }
    }
}

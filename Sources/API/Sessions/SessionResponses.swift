import Foundation
import Hummingbird

extension SessionsController {
    /// `POST /users/first`: who was made, and the organization made with them.
    struct CreateFirstUserResponse: ResponseEncodable {
        let user_id: UUID
        let organization_id: UUID
    }

    /// `POST /users/login`: the session token (also set as the session cookie).
    struct LoginResponse: Encodable {
        let session_token: String
    }
}

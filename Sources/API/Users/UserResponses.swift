import Foundation
import Hummingbird
import Store

extension UsersController {
    /// `GET /users`: a page of users and how many match in all.
    struct UsersResponse: ResponseEncodable {
        let users: [UserJSON]
        let count: Int
    }

    /// `POST /users/{user}/keys`: the new token.
    struct KeyResponse: Encodable {
        let key: String
    }

    /// What the audit log shows of a user: the user as the API writes it, and its login type;
    /// never its password hash (no field holds it).
    struct AuditedUser: Encodable {
        let user: UserJSON
        let loginType: String

        init(_ user: User) {
            self.user = UserJSON(user)
            loginType = user.loginType
        }

        enum Key: String, CodingKey { case login_type }

        func encode(to encoder: any Encoder) throws {
            try user.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(loginType, forKey: .login_type)
        }
    }
}

import Foundation

extension SessionsController {
    /// `POST /users/first`.
    struct CreateFirstUserRequest: Decodable {
        let email: String
        let username: String
        let password: String
        let trial: Bool

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            email = fields.email("email")
            username = fields.username("username")
            password = fields.required("password")
            trial = fields.optional("trial", as: Bool.self) ?? false
            try fields.check()
        }
    }

    /// `POST /users/login`.
    struct LoginRequest: Decodable {
        let email: String
        let password: String

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            email = fields.email("email")
            password = fields.required("password")
            try fields.check()
        }
    }
}

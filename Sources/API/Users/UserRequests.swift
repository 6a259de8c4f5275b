import Foundation

extension UsersController {
    /// `POST /users`.
    struct CreateUserRequest: Decodable {
        let email: String
        let username: String
        /// Nil for login type "none".
        let password: String?
        let organizationID: UUID
        let loginType: String

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            email = fields.email("email")
            username = fields.username("username")
            let loginType = fields.optional("login_type", as: String.self) ?? "password"
            if !["password", "none"].contains(loginType) { fields.fail("login_type", tag: "oneof", value: loginType) }
            self.loginType = loginType
            if loginType == "none", let given = fields.optional("password", as: String.self), !given.isEmpty {
                fields.fail("password", detail: "a user with login type \"none\" cannot have a password")
            }
            password = loginType == "password" ? fields.required("password", as: String.self) : nil
            organizationID = fields.required("organization_id")
            try fields.check()
        }
    }

    /// Coder's `UpdateRoles`: the user's site roles, all of them (what is left out is taken away).
    struct UpdateRolesRequest: Decodable {
        let roles: [String]

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            // As Coder's: absent is none.
            roles = fields.optional("roles", as: [String].self) ?? []
            try fields.check()
        }
    }
}

import Foundation
import Testing
import WireFormat
@testable import API

/// Request bodies decode into non-optional fields, every problem reported at once.
@Suite struct RequestFieldsTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try WireJSON.decode(T.self, from: Data(json.utf8))
    }

    @Test func everyMissingOrInvalidFieldIsOneValidation() throws {
        do {
            _ = try decode(UsersController.CreateUserRequest.self, #"{"email":"not-an-address","login_type":"sso"}"#)
            Issue.record("decoded an invalid body")
        } catch let error as APIError {
            #expect(error.status == .badRequest)
            #expect(error.message == "Validation failed.")
            #expect(error.validations.map(\.field) == ["email", "username", "login_type", "organization_id"], "no password asked of an unknown login type")
            #expect(error.validations.first?.detail == #"Validation failed for tag "email" with value: "not-an-address""#)
        }
    }

    @Test func aValidBodyDecodesWithDefaults() throws {
        let organization = UUID()
        let request = try decode(UsersController.CreateUserRequest.self, #"{"email":"a@b.co","username":"ann","password":"pw","organization_id":"\#(organization)"}"#)
        #expect(request.loginType == "password")
        #expect(request.password == "pw")
        #expect(request.organizationID == organization)
        let none = try decode(UsersController.CreateUserRequest.self, #"{"email":"a@b.co","username":"ann","login_type":"none","organization_id":"\#(organization)"}"#)
        #expect(none.password == nil)
    }

    @Test func aWrongJSONTypeIsADecodingErrorNotAValidation() {
        #expect(throws: DecodingError.self) {
            _ = try decode(WorkspacesController.CreateBuildRequest.self, #"{"transition":5}"#)
        }
        #expect(throws: APIError.self) {
            _ = try decode(WorkspacesController.CreateBuildRequest.self, #"{"transition":"explode"}"#)
        }
    }
}

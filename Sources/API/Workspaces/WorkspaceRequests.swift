import Foundation
import Hummingbird

extension WorkspacesController {
    /// `POST /organizations/{organization}/members/{user}/workspaces`.
    struct CreateWorkspaceRequest: Decodable {
        let name: String
        let templateID: UUID

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            name = fields.username("name")
            templateID = fields.required("template_id")
            try fields.check()
        }
    }

    /// `POST /workspaces/{workspace}/builds`.
    struct CreateBuildRequest: Decodable {
        let transition: String

        init(from decoder: any Decoder) throws {
            var fields = try RequestFields(decoder)
            transition = fields.oneOf("transition", ["start", "stop", "delete"])
            try fields.check()
        }
    }
}

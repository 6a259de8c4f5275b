import Foundation
import Store
import WireFormat

extension WorkspacesController {
    /// What the audit log shows of a workspace.
    struct AuditedWorkspace: Encodable {
        let id: UUID
        let name: String
        let owner_id: UUID
        let organization_id: UUID
        let template_id: UUID
        let created_at: Date

        init(_ workspace: Workspace) {
            id = workspace.id
            name = workspace.name
            owner_id = workspace.ownerID
            organization_id = workspace.organizationID
            template_id = workspace.templateID
            created_at = workspace.createdAt
        }
    }

    /// What the audit log shows of a build.
    struct AuditedBuild: Encodable {
        let id: UUID
        let workspace_id: UUID
        let template_version_id: UUID
        let build_number: Int32
        let transition: String
        let initiator_id: UUID
        let job_id: UUID
        let created_at: Date

        init(_ build: WorkspaceBuild) {
            id = build.id
            workspace_id = build.workspaceID
            template_version_id = build.templateVersionID
            build_number = build.buildNumber
            transition = build.transition
            initiator_id = build.initiatorID
            job_id = build.jobID
            created_at = build.createdAt
        }
    }

    /// A build's audit row: created by the request, about the workspace `workspaceName`, with
    /// Coder's additional fields.
    static func buildEntry(_ audit: AuditTrail, build: WorkspaceBuild, workspaceName: String, organizationID: UUID) throws -> AuditEntry? {
        try audit.record(
            .workspaceBuild, id: build.id, target: workspaceName, action: .create,
            new: AuditedBuild(build), organization: organizationID, status: .created,
            additionalFields: .object([
                "workspace_name": .string(workspaceName), "build_number": .string(String(build.buildNumber)), "build_reason": .string("initiator"),
            ])
        )
    }
}
